"""Writes for students and guardians."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from students.models import Guardian, Student, StudentStatus

User = get_user_model()


@transaction.atomic
def student_create(
    *,
    username: str,
    first_name: str,
    last_name: str,
    student_number: str,
    grade_level: int,
    enrolled_on: dt.date,
    email: str = "",
) -> Student:
    """Create the login and the student record together (they share a primary key)."""
    user = User.objects.create_user(username=username, first_name=first_name, last_name=last_name, email=email)
    student = Student(user=user, student_number=student_number, grade_level=grade_level, enrolled_on=enrolled_on)
    student.full_clean()
    student.save(force_insert=True)
    return student


@transaction.atomic
def student_leave(*, student: Student, left_on: dt.date, status: str, reason: str) -> Student:
    """Record that a student left (graduated, withdrew, or became inactive)."""
    if status == StudentStatus.ACTIVE:
        raise ValueError("A leaving student cannot stay active; choose inactive, graduated or withdrawn.")
    student.status = status
    student.left_on = left_on
    student.leaving_reason = reason
    student.full_clean()
    student.save(update_fields=["status", "left_on", "leaving_reason"])
    return student


@transaction.atomic
def guardian_set_primary(*, guardian: Guardian) -> Guardian:
    """Make ``guardian`` the student's only primary guardian."""
    Guardian.objects.filter(student_id=guardian.student_id, is_primary=True).exclude(pk=guardian.pk).update(
        is_primary=False
    )
    guardian.is_primary = True
    guardian.save(update_fields=["is_primary"])
    return guardian
