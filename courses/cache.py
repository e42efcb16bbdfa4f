"""The cache families of courses, rosters and enrolments, and the writes that invalidate them.

Entries are kept small and normalised -- a roster is a tuple of student ids,
a student's enrolments a tuple of (enrolment, course) ids -- and assembled
by ``courses.selectors`` from the ``course`` and ``student`` entries with one
batch read each. So a course renamed, or a student who changes name,
invalidates one entry, not every roster or enrolment list that shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS

from courses.models import Course, Enrollment, EnrollmentStatus, Teacher, Term
from growthcompass.cache import Family, PickleCodec, RowCodec, WrittenBy, register

__all__ = [
    "COURSES_ACTIVE_FAMILY",
    "COURSES_ACTIVE_ID",
    "COURSE_FAMILY",
    "ENROLLMENTS_FAMILY",
    "ROSTER_FAMILY",
    "ActiveEnrollment",
    "CourseSummary",
]

# ``courses_active`` is a single entry, under this id.
COURSES_ACTIVE_ID = 0
# The auth_user columns a course entry shows (its teacher's name).
TEACHER_COLUMNS = ("username", "first_name", "last_name", "email")


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
    return {COURSES_ACTIVE_ID: active} if COURSES_ACTIVE_ID in ids else {}


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


COURSE_FAMILY: Family[CourseSummary] = register(
    Family("course", ttl_s=600, load_many=_load_courses, codec=RowCodec(CourseSummary), local=True),
    written_by=[
        WrittenBy(Course),
        # The term's name is part of a course entry; a new term has no courses yet.
        WrittenBy(Term, via=("courses", "term_id"), columns=("name",), inserts=False),
        # So is the teacher's name; a new user teaches nothing yet.
        WrittenBy(Teacher, via=("courses", "teacher_id"), columns=TEACHER_COLUMNS, inserts=False),
    ],
    keyed_by="course",
)
# Five minutes for the list of active courses; it changes when a course's is_active does.
COURSES_ACTIVE_FAMILY: Family[tuple[int, ...]] = register(
    Family(
        "courses_active",
        ttl_s=300,
        load_many=_load_active_course_ids,
        codec=PickleCodec(),
        local=True,
        stampede_lock=True,
    ),
    written_by=[WrittenBy(Course, columns=("is_active",), condition={"is_active": True})],
    keyed_by="course",
    single_entry_id=COURSES_ACTIVE_ID,
)
ROSTER_FAMILY: Family[tuple[int, ...]] = register(
    Family("course_roster", ttl_s=300, load_many=_load_rosters, codec=PickleCodec(), local=True, stampede_lock=True),
    written_by=[WrittenBy(Enrollment, key="course_id")],
    keyed_by="course",
)
ENROLLMENTS_FAMILY: Family[tuple[tuple[int, int, dt.datetime], ...]] = register(
    Family(
        "student_enrollments",
        ttl_s=300,
        load_many=_load_enrollments,
        codec=PickleCodec(),
        local=True,
        stampede_lock=True,
    ),
    written_by=[WrittenBy(Enrollment, key="student_id")],
    keyed_by="student",
)
