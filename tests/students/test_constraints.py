from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from students.models import GradeLevel, Student
from tests.factories import GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_grade_level_outside_k_to_12_is_refused_by_the_database() -> None:
    student = StudentFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.filter(pk=student.pk).update(grade_level=13)


def test_left_on_before_enrolled_on_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentFactory.create(enrolled_on=dt.date(2024, 9, 1), left_on=dt.date(2024, 8, 1))


def test_unknown_status_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentFactory.create(status="expelled")


def test_duplicate_student_number_is_refused() -> None:
    StudentFactory.create(student_number="S1")
    with pytest.raises(IntegrityError), transaction.atomic():
        StudentFactory.create(student_number="S1")


def test_second_primary_guardian_is_refused() -> None:
    student = StudentFactory.create()
    GuardianFactory.create(student=student, is_primary=True)
    GuardianFactory.create(student=student, is_primary=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        GuardianFactory.create(student=student, is_primary=True)


def test_grade_levels_compare_numerically_not_as_labels() -> None:
    StudentFactory.create(grade_level=GradeLevel.GRADE_7)
    StudentFactory.create(grade_level=GradeLevel.GRADE_10)
    StudentFactory.create(grade_level=GradeLevel.GRADE_6)
    seventh_and_above = Student.objects.in_grade_at_least(GradeLevel.GRADE_7).order_by("grade_level")
    assert [s.grade_level for s in seventh_and_above] == [7, 10]


def test_student_shares_primary_key_with_its_user() -> None:
    student = StudentFactory.create()
    assert student.pk == student.user.pk
