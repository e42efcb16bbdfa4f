"""The cache families of students and their guardians: what an entry holds, how it loads, what invalidates it.

Entries are invalidated by any committed write to the rows behind them,
whatever the write path: the NOTIFY triggers generated from the ``written_by``
declarations below migrate with this app (``growthcompass.cache.registry``).
Loaders read the primary database, never a replica, for the same reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS

from growthcompass.cache import Family, RowCodec, RowsCodec, WrittenBy, register
from students.models import GradeLevel, Guardian, Student, StudentAccount

__all__ = ["GUARDIANS_FAMILY", "STUDENT_FAMILY", "GuardianSummary", "StudentSummary"]


class StudentSummary(NamedTuple):
    """A student as views show one: identity, name, grade and status."""

    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    student_number: str
    grade_level: int
    status: str
    enrolled_on: dt.date
    left_on: dt.date | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username

    @property
    def grade_label(self) -> str:
        return str(GradeLevel(self.grade_level).label)

    @classmethod
    def from_model(cls, student: Student) -> StudentSummary:
        """The same value built from a model instance (with its user loaded)."""
        user = student.user
        return cls(
            id=student.pk,
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            email=user.email,
            student_number=student.student_number,
            grade_level=student.grade_level,
            status=student.status,
            enrolled_on=student.enrolled_on,
            left_on=student.left_on,
        )


class GuardianSummary(NamedTuple):
    id: int
    full_name: str
    relationship: str
    phone: str
    email: str
    is_primary: bool
    is_emergency_contact: bool


_STUDENT_COLUMNS = (
    "pk",
    "user__username",
    "user__first_name",
    "user__last_name",
    "user__email",
    "student_number",
    "grade_level",
    "status",
    "enrolled_on",
    "left_on",
)


def _load_students(ids: Sequence[int]) -> dict[int, StudentSummary]:
    rows = Student.objects.using(DEFAULT_DB_ALIAS).filter(pk__in=ids).order_by().values_list(*_STUDENT_COLUMNS)
    return {row[0]: StudentSummary(*row) for row in rows}


def _load_guardians(student_ids: Sequence[int]) -> dict[int, tuple[GuardianSummary, ...]]:
    found: dict[int, list[GuardianSummary]] = {student_id: [] for student_id in student_ids}
    rows = (
        Guardian.objects.using(DEFAULT_DB_ALIAS)
        .filter(student_id__in=student_ids)
        .order_by("student_id", "-is_primary", "full_name", "pk")
        .values_list(
            "student_id", "pk", "full_name", "relationship", "phone", "email", "is_primary", "is_emergency_contact"
        )
    )
    for student_id, pk, full_name, relationship, phone, email, is_primary, is_emergency in rows:
        found[student_id].append(GuardianSummary(pk, full_name, relationship, phone, email, is_primary, is_emergency))
    return {student_id: tuple(items) for student_id, items in found.items()}


# The auth_user columns a student entry shows: a save of others (last_login) changes nothing cached.
USER_COLUMNS = ("username", "first_name", "last_name", "email")

STUDENT_FAMILY: Family[StudentSummary] = register(
    Family("student", ttl_s=600, load_many=_load_students, codec=RowCodec(StudentSummary), local=True),
    written_by=[
        WrittenBy(Student),
        # A student's id is their user's id. A new user has no student entry yet.
        WrittenBy(StudentAccount, columns=USER_COLUMNS, inserts=False),
    ],
    keyed_by="student",
)
GUARDIANS_FAMILY: Family[tuple[GuardianSummary, ...]] = register(
    Family("student_guardians", ttl_s=600, load_many=_load_guardians, codec=RowsCodec(GuardianSummary), local=True),
    written_by=[WrittenBy(Guardian, key="student_id")],
    keyed_by="student",
)
