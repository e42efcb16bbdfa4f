from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    CourseFactory,
    EnrollmentFactory,
    StudentFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db


def test_duplicate_enrollment_is_refused() -> None:
    enrollment = EnrollmentFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory.create(student=enrollment.student, course=enrollment.course)


def test_term_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        TermFactory.create(starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2025, 8, 1))


def test_enrollment_ending_before_it_began_is_refused() -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        EnrollmentFactory.create(enrolled_at=now, ended_at=now - dt.timedelta(days=1))


def test_zero_capacity_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CourseFactory.create(capacity=0)


def test_deleting_a_course_with_attendance_history_is_protected() -> None:
    session = ClassSessionFactory.create()
    AttendanceFactory.create(session=session, student=StudentFactory.create())
    with pytest.raises(ProtectedError):
        session.course.delete()


def test_deleting_a_course_is_protected_at_the_database_level_too() -> None:
    """Raw SQL bypasses Django's on_delete emulation; the FK itself must refuse.

    Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so the refusal
    comes at commit; SET CONSTRAINTS ALL IMMEDIATE brings it forward.
    """
    session = ClassSessionFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM courses WHERE id = %s", [session.course_id])
