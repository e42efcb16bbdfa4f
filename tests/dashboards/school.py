"""A small generated school with the metrics' edge cases, and the metrics computed independently.

``expected_metrics`` is the oracle: per student, ORM aggregates over the base
tables plus plain Python arithmetic -- no code shared with the view's SQL or
with ``dashboards.live.student_metrics_live``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from attendance.models import Attendance, AttendanceStatus, ClassSession
from courses.models import Course, Enrollment, EnrollmentStatus
from feedback.models import ParsedStudentFeedback
from feedback.scores import SCORE_DIMENSIONS
from students.models import Student
from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    CourseFactory,
    EnrollmentFactory,
    FeedbackFactory,
    StudentFactory,
    TermFactory,
    UserFactory,
)

CENT = Decimal("0.01")
ATTENDANCE_STATUSES = list(AttendanceStatus.values)
ENROLLMENT_STATUSES = list(EnrollmentStatus.values)


@dataclass
class School:
    today: dt.date
    courses: list[Course] = field(default_factory=list)
    sessions: dict[int, list[ClassSession]] = field(default_factory=dict)
    students: list[Student] = field(default_factory=list)
    edge: dict[str, Student] = field(default_factory=dict)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 30), tzinfo=timezone.get_current_timezone())


def _enrol(student: Student, course: Course, status: str, today: dt.date, ended_on: dt.date | None = None) -> None:
    ended_at = _at(ended_on, 11) if ended_on is not None else None
    if status == EnrollmentStatus.COMPLETED and ended_at is None:
        ended_at = _at(today, 16)
    EnrollmentFactory.create(
        student=student,
        course=course,
        status=status,
        enrolled_at=_at(today - dt.timedelta(days=40), 9),
        ended_at=ended_at,
    )


def _attend(student: Student, session: ClassSession, status: str) -> None:
    AttendanceFactory.create(
        student=student, session=session, status=status, minutes_late=5 if status == AttendanceStatus.LATE else 0
    )


def build_school(seed: int, *, students: int = 14) -> School:
    """Courses with past, future and cancelled sessions; random students; one student per edge case."""
    rng = random.Random(seed)
    today = timezone.localdate()
    school = School(today=today)
    term = TermFactory.create(starts_on=today - dt.timedelta(days=35), ends_on=today + dt.timedelta(days=60))
    for _ in range(4):
        course = CourseFactory.create(term=term)
        offsets = {*rng.sample(range(-25, 8), 9), 0}  # always one session today
        sessions = [
            ClassSessionFactory.create(
                course=course,
                session_date=today + dt.timedelta(days=offset),
                is_cancelled=offset != 0 and rng.random() < 0.25,
            )
            for offset in sorted(offsets)
        ]
        school.courses.append(course)
        school.sessions[course.pk] = sessions

    for _ in range(students):
        student = StudentFactory.create(grade_level=rng.choice([6, 7, 8]), status=rng.choice(["active", "inactive"]))
        school.students.append(student)
        for course in rng.sample(school.courses, rng.randint(0, 4)):
            status = rng.choice(ENROLLMENT_STATUSES)
            ended_on = today - dt.timedelta(days=rng.randint(1, 20)) if status == EnrollmentStatus.DROPPED else None
            _enrol(student, course, status, today, ended_on)
            for session in school.sessions[course.pk]:
                if rng.random() < 0.85:
                    _attend(student, session, rng.choice(ATTENDANCE_STATUSES))
        for _ in range(rng.randint(0, 4)):
            dims = rng.sample(SCORE_DIMENSIONS, rng.randint(0, len(SCORE_DIMENSIONS)))
            FeedbackFactory.create(
                student=student,
                scores={d: rng.randint(1, 5) for d in dims},
                parsed_at=timezone.now() - dt.timedelta(hours=rng.randint(1, 500)),
            )

    first, second, third = school.courses[:3]
    past_held = [s for s in school.sessions[first.pk] if s.session_date <= today and not s.is_cancelled]

    # Not enrolled anywhere: no sessions, no attendance, no feedback.
    school.edge["no_sessions"] = StudentFactory.create(user=UserFactory.create(first_name="", last_name=""))
    # Every session excused: counts, but no rate.
    all_excused = StudentFactory.create()
    _enrol(all_excused, first, EnrollmentStatus.ACTIVE, today)
    for session in past_held:
        _attend(all_excused, session, AttendanceStatus.EXCUSED)
    school.edge["all_excused"] = all_excused
    # Dropped half-way: only sessions before the day it ended are scheduled.
    dropped = StudentFactory.create()
    drop_day = past_held[len(past_held) // 2].session_date
    _enrol(dropped, first, EnrollmentStatus.DROPPED, today, ended_on=drop_day)
    for session in past_held:
        if session.session_date < drop_day:
            _attend(dropped, session, AttendanceStatus.PRESENT)
    # ... and a dropped enrolment with no end date, and ones that never started.
    _enrol(dropped, second, EnrollmentStatus.DROPPED, today)
    _enrol(dropped, third, EnrollmentStatus.WAITLISTED, today)
    school.edge["dropped"] = dropped
    # Attendance on cancelled sessions (and on future ones) is ignored.
    cancelled = StudentFactory.create()
    _enrol(cancelled, first, EnrollmentStatus.ACTIVE, today)
    extra = ClassSessionFactory.create(course=first, session_date=today - dt.timedelta(days=30), is_cancelled=True)
    future = ClassSessionFactory.create(course=first, session_date=today + dt.timedelta(days=30))
    _attend(cancelled, extra, AttendanceStatus.PRESENT)
    _attend(cancelled, future, AttendanceStatus.ABSENT)
    for session in past_held[:2]:
        _attend(cancelled, session, AttendanceStatus.LATE)
    school.edge["cancelled"] = cancelled
    # Only feedback, with scores on just some dimensions (and one with none).
    feedback_only = StudentFactory.create()
    FeedbackFactory.create(student=feedback_only, scores={"homework": 2})
    FeedbackFactory.create(student=feedback_only, scores={"homework": 5, "behaviour": 4})
    FeedbackFactory.create(student=feedback_only, scores={})
    school.edge["feedback_only"] = feedback_only
    school.students.extend(school.edge.values())
    return school


def _mean(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(CENT, rounding=ROUND_HALF_UP)


def expected_metrics(student: Student, today: dt.date) -> dict[str, Any]:
    """Every column of the view for ``student``, computed from the base tables."""
    attended = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
    counts = Attendance.objects.filter(
        student=student, session__is_cancelled=False, session__session_date__lte=today
    ).aggregate(
        present=Count("pk", filter=Q(status=AttendanceStatus.PRESENT)),
        late=Count("pk", filter=Q(status=AttendanceStatus.LATE)),
        absent=Count("pk", filter=Q(status=AttendanceStatus.ABSENT)),
        excused=Count("pk", filter=Q(status=AttendanceStatus.EXCUSED)),
        last=Max("session__session_date", filter=Q(status__in=attended)),
    )
    scheduled = 0
    for enrolment in Enrollment.objects.filter(student=student):
        held = ClassSession.objects.filter(course_id=enrolment.course_id, is_cancelled=False, session_date__lte=today)
        if enrolment.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED):
            scheduled += held.count()
        elif enrolment.status == EnrollmentStatus.DROPPED and enrolment.ended_at is not None:
            scheduled += held.filter(session_date__lt=timezone.localtime(enrolment.ended_at).date()).count()
    counted = counts["present"] + counts["late"] + counts["absent"]
    rate = None
    if counted:
        rate = (Decimal(100 * (counts["present"] + counts["late"])) / Decimal(counted)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
    feedback = list(ParsedStudentFeedback.objects.filter(student=student).values_list("scores", "parsed_at"))
    user = student.user
    expected: dict[str, Any] = {
        "student_number": student.student_number,
        "name": f"{user.first_name} {user.last_name}".strip() or user.username,
        "grade_level": student.grade_level,
        "status": student.status,
        "active_enrollments": Enrollment.objects.filter(student=student, status=EnrollmentStatus.ACTIVE).count(),
        "sessions_scheduled": scheduled,
        "present_count": counts["present"],
        "late_count": counts["late"],
        "absent_count": counts["absent"],
        "excused_count": counts["excused"],
        "attendance_rate": rate,
        "last_attended_on": counts["last"],
        "feedback_count": len(feedback),
        "last_feedback_at": max((parsed for _, parsed in feedback), default=None),
        "avg_score": _mean([score for scores, _ in feedback for score in scores.values()]),
    }
    for dimension in SCORE_DIMENSIONS:
        expected[f"avg_{dimension}"] = _mean([scores[dimension] for scores, _ in feedback if dimension in scores])
    return expected


METRIC_COLUMNS = [
    "student_number",
    "name",
    "grade_level",
    "status",
    "active_enrollments",
    "sessions_scheduled",
    "present_count",
    "late_count",
    "absent_count",
    "excused_count",
    "attendance_rate",
    "last_attended_on",
    "feedback_count",
    "last_feedback_at",
    "avg_score",
    *(f"avg_{d}" for d in SCORE_DIMENSIONS),
]
