"""A tiny school whose dashboard numbers are known by hand: three students, one course, three weeks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from attendance.models import AttendanceStatus
from courses.models import Course, EnrollmentStatus
from dashboards.refresh import MATERIALIZED_VIEWS, materialized_view_refresh
from students.models import Student
from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    CourseFactory,
    EnrollmentFactory,
    FeedbackFactory,
    StudentFactory,
    TermFactory,
)

P, L, A, E = AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED


@dataclass
class SmallSchool:
    course: Course
    steady: Student  # 2 of 3 attended (66.67 %), feedback falling
    absent: Student  # 1 of 3 attended (33.33 %)
    perfect: Student  # 2 of 2 counted, one excused (100 %)


def build_small_school(code: str = "DASH-7A") -> SmallSchool:
    """Sessions in two past weeks (plus one cancelled and one to come), every view refreshed."""
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    term = TermFactory.create(starts_on=monday - dt.timedelta(days=21), ends_on=today + dt.timedelta(days=60))
    course = CourseFactory.create(term=term, grade_level=7, code=code)
    held = [
        ClassSessionFactory.create(course=course, session_date=monday - dt.timedelta(days=days)) for days in (14, 7, 6)
    ]
    cancelled = ClassSessionFactory.create(
        course=course, session_date=monday - dt.timedelta(days=13), is_cancelled=True
    )
    ClassSessionFactory.create(course=course, session_date=today + dt.timedelta(days=3))
    students = []
    for number, statuses in ((f"{code}-1", (P, P, A)), (f"{code}-2", (L, A, A)), (f"{code}-3", (P, P, E))):
        student = StudentFactory.create(student_number=number, grade_level=7)
        EnrollmentFactory.create(student=student, course=course, status=EnrollmentStatus.ACTIVE)
        for session, status in zip(held, statuses, strict=True):
            AttendanceFactory.create(
                student=student, session=session, status=status, minutes_late=5 if status == L else 0
            )
        AttendanceFactory.create(student=student, session=cancelled, status=A)  # ignored: not held
        students.append(student)
    steady = students[0]
    now = timezone.now()
    for days_ago, score in ((40, 5), (30, 5), (20, 3), (10, 3), (1, 2)):
        FeedbackFactory.create(
            student=steady,
            scores={"participation": score, "homework": score},
            parsed_at=now - dt.timedelta(days=days_ago),
        )
    for view in MATERIALIZED_VIEWS:
        materialized_view_refresh(view=view)
    return SmallSchool(course=course, steady=steady, absent=students[1], perfect=students[2])
