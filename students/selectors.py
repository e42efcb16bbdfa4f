"""Reads of students and their guardians, cached in Redis (the families are declared in ``students.cache``).

Every selector returns immutable values (named tuples and tuples): the
in-process tier hands the same object to every caller.
"""

from __future__ import annotations

from collections.abc import Iterable

from growthcompass.cache import get_store
from students.cache import GUARDIANS_FAMILY, STUDENT_FAMILY, GuardianSummary, StudentSummary

__all__ = ["GuardianSummary", "StudentSummary", "student_get", "student_guardians", "students_by_ids"]


def student_get(student_id: int) -> StudentSummary | None:
    """The student with this id (name, grade, status), or None."""
    return get_store().get(STUDENT_FAMILY, student_id)


def students_by_ids(ids: Iterable[int]) -> dict[int, StudentSummary]:
    """The students among ``ids`` that exist: cached ones in one round trip, the rest in one query."""
    return get_store().get_many(STUDENT_FAMILY, ids)


def student_guardians(student_id: int) -> tuple[GuardianSummary, ...]:
    """The student's guardians, the primary one first."""
    return get_store().get(GUARDIANS_FAMILY, student_id) or ()
