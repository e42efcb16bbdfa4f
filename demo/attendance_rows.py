"""The attendance register, generated lazily: about a million rows never sit in memory.

Rows come out in lesson order (the order ``plan.sessions`` is in), one lesson's
register at a time, the way a school fills the table. Only lessons that were
held and lie before ``plan.today`` get a register, and only students whose
enrolment covers that lesson appear on it: active and completed enrolments for
the whole term, dropped ones up to the day they dropped, pending and
waitlisted ones never.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

from attendance.models import AttendanceStatus
from demo import catalogue
from demo.rows import DemoPlan

PRESENT = str(AttendanceStatus.PRESENT)
LATE = str(AttendanceStatus.LATE)
ABSENT = str(AttendanceStatus.ABSENT)
EXCUSED = str(AttendanceStatus.EXCUSED)
MAX_MINUTES_LATE = 30
# The register is taken a few minutes into the lesson.
REGISTER_DELAY = dt.timedelta(minutes=5)


class AttendanceRow(NamedTuple):
    student: int
    session: int
    status: str
    minutes_late: int
    recorded_by: int
    created_at: dt.datetime
    note: str


def _class_lists(plan: DemoPlan) -> dict[int, list[tuple[int, dt.date]]]:
    """course -> [(student, first day no longer on the register)] for enrolments that attend at all."""
    class_lists: dict[int, list[tuple[int, dt.date]]] = {}
    for enrollment in plan.enrollments:
        until = enrollment.attends_until
        if until is not None:
            class_lists.setdefault(enrollment.course, []).append((enrollment.student, until))
    return class_lists


def _registered_sessions(plan: DemoPlan) -> Iterator[int]:
    """Positions of the lessons that have a register: held, before today, in a recorded term."""
    recorded_terms = set(range(len(plan.terms))) if plan.options.previous_term_attendance else {plan.current_term}
    for index, session in enumerate(plan.sessions):
        # Strictly before today: a lesson later today has not happened yet, and
        # ``created_at`` must never lie in the future whatever the time of day.
        if (
            not session.is_cancelled
            and session.session_date < plan.today
            and plan.courses[session.course].term in recorded_terms
        ):
            yield index


def count_attendance(plan: DemoPlan) -> int:
    """How many rows ``iter_attendance`` will yield, without drawing any random numbers."""
    class_lists = _class_lists(plan)
    total = 0
    for index in _registered_sessions(plan):
        session = plan.sessions[index]
        total += sum(1 for _, until in class_lists.get(session.course, ()) if session.session_date < until)
    return total


def iter_attendance(plan: DemoPlan) -> Iterator[AttendanceRow]:
    """Yield every attendance row, deterministically for ``plan.seed``."""
    rng = plan.stream("attendance")
    random = rng.random
    class_lists = _class_lists(plan)
    profiles = plan.attendance_profiles
    for index in _registered_sessions(plan):
        session = plan.sessions[index]
        day = session.session_date
        teacher = plan.courses[session.course].teacher
        taken_at = dt.datetime.combine(day, session.starts_at, tzinfo=plan.tz) + REGISTER_DELAY
        for student, until in class_lists.get(session.course, ()):
            if day >= until:
                continue
            profile = profiles[student]
            draw = random()
            if draw < profile.present:
                yield AttendanceRow(student, index, PRESENT, 0, teacher, taken_at, "")
            elif draw < profile.late:
                # Mostly a few minutes, occasionally half the lesson.
                minutes = 1 + int(MAX_MINUTES_LATE * random() ** 2)
                # The teacher updates the register when the student walks in.
                yield AttendanceRow(
                    student, index, LATE, minutes, teacher, taken_at + dt.timedelta(minutes=minutes), ""
                )
            elif draw < profile.absent:
                yield AttendanceRow(student, index, ABSENT, 0, teacher, taken_at, rng.choice(catalogue.ABSENT_NOTES))
            else:
                yield AttendanceRow(student, index, EXCUSED, 0, teacher, taken_at, rng.choice(catalogue.EXCUSED_NOTES))
