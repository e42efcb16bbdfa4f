"""Reads of students, their guardians and their metrics, cached in Redis.

Every selector returns immutable values (named tuples and tuples): the
in-process tier hands the same object to every caller. Entries are
invalidated by any committed write to the rows behind them, whatever the
write path (see ``growthcompass.cache``); loaders read the primary database,
never a replica, for the same reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS

from growthcompass.cache import families
from growthcompass.cache.families import Family, RowCodec, RowsCodec
from growthcompass.cache.store import get_store
from students.models import GradeLevel, Guardian, Student, StudentMetrics


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


class StudentMetricsSummary(NamedTuple):
    """One row of ``student_metrics_mv``: as fresh as the view's last refresh."""

    student_id: int
    student_number: str
    name: str
    grade_level: int
    status: str
    active_enrollments: int
    sessions_scheduled: int
    present_count: int
    late_count: int
    absent_count: int
    excused_count: int
    attendance_rate: Decimal | None
    last_attended_on: dt.date | None
    feedback_count: int
    last_feedback_at: dt.datetime | None
    avg_participation: Decimal | None
    avg_comprehension: Decimal | None
    avg_homework: Decimal | None
    avg_behaviour: Decimal | None
    avg_progress: Decimal | None
    avg_score: Decimal | None


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


_METRICS_COLUMNS = tuple(name for name in StudentMetricsSummary._fields if name != "student_id")


def _load_metrics(student_ids: Sequence[int]) -> dict[int, StudentMetricsSummary]:
    rows = (
        StudentMetrics.objects.using(DEFAULT_DB_ALIAS)
        .filter(student_id__in=student_ids)
        .order_by()
        .values_list("student_id", *_METRICS_COLUMNS)
    )
    return {row[0]: StudentMetricsSummary(*row) for row in rows}


STUDENT_FAMILY: Family[StudentSummary] = Family(
    families.STUDENT, ttl_s=600, load_many=_load_students, codec=RowCodec(StudentSummary), local=True
)
GUARDIANS_FAMILY: Family[tuple[GuardianSummary, ...]] = Family(
    families.STUDENT_GUARDIANS, ttl_s=600, load_many=_load_guardians, codec=RowsCodec(GuardianSummary), local=True
)
METRICS_FAMILY: Family[StudentMetricsSummary] = Family(
    families.STUDENT_METRICS,
    ttl_s=300,
    load_many=_load_metrics,
    codec=RowCodec(StudentMetricsSummary),
    local=True,
)


def student_get(student_id: int) -> StudentSummary | None:
    """The student with this id (name, grade, status), or None."""
    return get_store().get(STUDENT_FAMILY, student_id)


def students_by_ids(ids: Iterable[int]) -> dict[int, StudentSummary]:
    """The students among ``ids`` that exist: cached ones in one round trip, the rest in one query."""
    return get_store().get_many(STUDENT_FAMILY, ids)


def student_guardians(student_id: int) -> tuple[GuardianSummary, ...]:
    """The student's guardians, the primary one first."""
    return get_store().get(GUARDIANS_FAMILY, student_id) or ()


def student_metrics(student_id: int) -> StudentMetricsSummary | None:
    """The student's row of ``student_metrics_mv`` (None before the view's first refresh that includes them)."""
    return get_store().get(METRICS_FAMILY, student_id)
