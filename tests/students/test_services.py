from __future__ import annotations

import datetime as dt

import pytest

from students.models import Guardian, StudentStatus
from students.services import guardian_set_primary, student_create, student_leave
from tests.factories import GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_student_create_makes_user_and_student_with_one_id() -> None:
    student = student_create(
        username="ada",
        first_name="Ada",
        last_name="Lovelace",
        student_number="S-100",
        grade_level=9,
        enrolled_on=dt.date(2025, 9, 1),
    )
    student.refresh_from_db()
    assert student.user.username == "ada"
    assert student.pk == student.user.pk
    assert student.full_name == "Ada Lovelace"


def test_student_leave_refuses_active_status() -> None:
    student = StudentFactory.create()
    with pytest.raises(ValueError, match="cannot stay active"):
        student_leave(student=student, left_on=dt.date(2025, 1, 1), status=StudentStatus.ACTIVE, reason="x")


def test_student_leave_records_date_and_reason() -> None:
    student = StudentFactory.create(enrolled_on=dt.date(2024, 9, 1))
    student_leave(student=student, left_on=dt.date(2025, 7, 1), status=StudentStatus.GRADUATED, reason="done")
    student.refresh_from_db()
    assert (student.status, student.left_on, student.leaving_reason) == ("graduated", dt.date(2025, 7, 1), "done")


def test_guardian_set_primary_moves_the_flag() -> None:
    first = GuardianFactory.create(is_primary=True)
    second = GuardianFactory.create(student=first.student)
    guardian_set_primary(guardian=second)
    assert list(Guardian.objects.filter(student=first.student, is_primary=True)) == [second]
