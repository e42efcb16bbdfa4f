"""Reads of courses, rosters and enrolments, cached in Redis (the families are declared in ``courses.cache``).

Every selector returns immutable values (named tuples and tuples).
"""

from __future__ import annotations

from collections.abc import Iterable

from courses.cache import (
    COURSE_FAMILY,
    COURSES_ACTIVE_FAMILY,
    COURSES_ACTIVE_ID,
    ENROLLMENTS_FAMILY,
    ROSTER_FAMILY,
    ActiveEnrollment,
    CourseSummary,
)
from growthcompass.cache import get_store
from students.selectors import StudentSummary, students_by_ids

__all__ = [
    "ActiveEnrollment",
    "CourseSummary",
    "course_get",
    "course_roster",
    "courses_active",
    "courses_by_ids",
    "student_active_enrollments",
]


def course_get(course_id: int) -> CourseSummary | None:
    return get_store().get(COURSE_FAMILY, course_id)


def courses_by_ids(ids: Iterable[int]) -> dict[int, CourseSummary]:
    """The courses among ``ids`` that exist, in one round trip and at most one query."""
    return get_store().get_many(COURSE_FAMILY, ids)


def courses_active() -> tuple[CourseSummary, ...]:
    """Every active course, by code."""
    ids = get_store().get(COURSES_ACTIVE_FAMILY, COURSES_ACTIVE_ID) or ()
    found = courses_by_ids(ids)
    return tuple(sorted((c for c in found.values() if c.is_active), key=lambda c: c.code))


def course_roster(course_id: int) -> tuple[StudentSummary, ...]:
    """The students actively enrolled in the course, by last name, first name."""
    ids = get_store().get(ROSTER_FAMILY, course_id) or ()
    found = students_by_ids(ids)
    return tuple(sorted(found.values(), key=lambda s: (s.last_name, s.first_name, s.id)))


def student_active_enrollments(student_id: int) -> tuple[ActiveEnrollment, ...]:
    """The student's active enrolments with their courses, by course code."""
    items = get_store().get(ENROLLMENTS_FAMILY, student_id) or ()
    found = courses_by_ids(course_id for _, course_id, _ in items)
    enrollments = [
        ActiveEnrollment(id=pk, enrolled_at=enrolled_at, course=found[course_id])
        for pk, course_id, enrolled_at in items
        if course_id in found
    ]
    return tuple(sorted(enrollments, key=lambda e: (e.course.code, e.id)))
