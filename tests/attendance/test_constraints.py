from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from attendance.models import AttendanceStatus
from attendance.services import attendance_record
from tests.factories import AttendanceFactory, ClassSessionFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_duplicate_attendance_is_refused() -> None:
    attendance = AttendanceFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        AttendanceFactory.create(student=attendance.student, session=attendance.session)


def test_session_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ClassSessionFactory.create(starts_at=dt.time(10, 0), ends_at=dt.time(9, 0))


def test_minutes_late_on_a_present_student_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AttendanceFactory.create(status=AttendanceStatus.PRESENT, minutes_late=5)


def test_attendance_record_corrects_instead_of_duplicating() -> None:
    student, session = StudentFactory.create(), ClassSessionFactory.create()
    attendance_record(student=student, session=session, status=AttendanceStatus.LATE, minutes_late=7)
    corrected = attendance_record(student=student, session=session, status=AttendanceStatus.PRESENT, minutes_late=7)
    assert session.attendances.count() == 1
    assert (corrected.status, corrected.minutes_late) == ("present", 0)
