"""Reads of courses, rosters and enrolments, cached in Redis.

Entries are kept small and normalised -- a roster is a tuple of student ids,
a student's enrolments a tuple of (enrolment, course) ids -- and assembled
from the ``course`` and ``student`` entries with one batch read each. So a
course renamed, or a student who changes name, invalidates one entry, not
every roster or enrolment list that shows it.

Every selector returns immutable values (named tuples and tuples).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS

from courses.models import Course, Enrollment, EnrollmentStatus
from growthcompass.cache import families
from growthcompass.cache.families import Family, PickleCodec, RowCodec
from growthcompass.cache.store import get_store
from students.selectors import StudentSummary, students_by_ids


class CourseSummary(NamedTuple):
    id: int
    code: str
    name: str
    subject: str
    grade_level: int
    term_id: int
    term_name: str
    teacher_id: int | None
    teacher_name: str
    capacity: int
    is_active: bool


class ActiveEnrollment(NamedTuple):
    id: int
    enrolled_at: dt.datetime
    course: CourseSummary


def _teacher_name(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


def _load_courses(ids: Sequence[int]) -> dict[int, CourseSummary]:
    rows = (
        Course.objects.using(DEFAULT_DB_ALIAS)
        .filter(pk__in=ids)
        .order_by()
        .values_list(
            "pk",
            "code",
            "name",
            "subject",
            "grade_level",
            "term_id",
            "term__name",
            "teacher_id",
            "teacher__first_name",
            "teacher__last_name",
            "teacher__username",
            "capacity",
            "is_active",
        )
    )
    found: dict[int, CourseSummary] = {}
    for row in rows:
        pk, code, name, subject, grade, term_id, term_name, teacher_id, first, last, username, capacity, active = row
        found[pk] = CourseSummary(
            id=pk,
            code=code,
            name=name,
            subject=subject,
            grade_level=grade,
            term_id=term_id,
            term_name=term_name,
            teacher_id=teacher_id,
            teacher_name=_teacher_name(first, last, username),
            capacity=capacity,
            is_active=active,
        )
    return found


def _load_active_course_ids(ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    active = tuple(Course.objects.using(DEFAULT_DB_ALIAS).active().order_by("code").values_list("pk", flat=True))
    return {families.COURSES_ACTIVE_ID: active} if families.COURSES_ACTIVE_ID in ids else {}


def _load_rosters(course_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = {course_id: [] for course_id in course_ids}
    rows = (
        Enrollment.objects.using(DEFAULT_DB_ALIAS)
        .filter(course_id__in=course_ids, status=EnrollmentStatus.ACTIVE)
        .order_by("course_id", "student_id")
        .values_list("course_id", "student_id")
    )
    for course_id, student_id in rows:
        found[course_id].append(student_id)
    return {course_id: tuple(ids) for course_id, ids in found.items()}


def _load_enrollments(student_ids: Sequence[int]) -> dict[int, tuple[tuple[int, int, dt.datetime], ...]]:
    found: dict[int, list[tuple[int, int, dt.datetime]]] = {student_id: [] for student_id in student_ids}
    rows = (
        Enrollment.objects.using(DEFAULT_DB_ALIAS)
        .filter(student_id__in=student_ids, status=EnrollmentStatus.ACTIVE)
        .order_by("student_id", "enrolled_at", "pk")
        .values_list("student_id", "pk", "course_id", "enrolled_at")
    )
    for student_id, pk, course_id, enrolled_at in rows:
        found[student_id].append((pk, course_id, enrolled_at))
    return {student_id: tuple(items) for student_id, items in found.items()}


COURSE_FAMILY: Family[CourseSummary] = Family(
    families.COURSE, ttl_s=600, load_many=_load_courses, codec=RowCodec(CourseSummary), local=True
)
# The issue fixes five minutes for the list of active courses.
COURSES_ACTIVE_FAMILY: Family[tuple[int, ...]] = Family(
    families.COURSES_ACTIVE,
    ttl_s=300,
    load_many=_load_active_course_ids,
    codec=PickleCodec(),
    local=True,
    stampede_lock=True,
)
ROSTER_FAMILY: Family[tuple[int, ...]] = Family(
    families.COURSE_ROSTER, ttl_s=300, load_many=_load_rosters, codec=PickleCodec(), local=True, stampede_lock=True
)
ENROLLMENTS_FAMILY: Family[tuple[tuple[int, int, dt.datetime], ...]] = Family(
    families.STUDENT_ENROLLMENTS,
    ttl_s=300,
    load_many=_load_enrollments,
    codec=PickleCodec(),
    local=True,
    stampede_lock=True,
)


def course_get(course_id: int) -> CourseSummary | None:
    return get_store().get(COURSE_FAMILY, course_id)


def courses_by_ids(ids: Iterable[int]) -> dict[int, CourseSummary]:
    """The courses among ``ids`` that exist, in one round trip and at most one query."""
    return get_store().get_many(COURSE_FAMILY, ids)


def courses_active() -> tuple[CourseSummary, ...]:
    """Every active course, by code."""
    ids = get_store().get(COURSES_ACTIVE_FAMILY, families.COURSES_ACTIVE_ID) or ()
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
