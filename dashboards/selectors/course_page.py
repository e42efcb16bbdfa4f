"""One course's dashboard reads: its held sessions and the attendance recorded at them.

Sessions through ``class_sessions_unique_course_slot`` (course, date, start),
attendance through ``attendances_unique_session_student`` (session, student):
a course has a few dozen sessions and a roster of at most a few dozen students.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from attendance.models import Attendance, ClassSession

__all__ = ["CourseSession", "course_attendance_marks", "course_sessions_held"]


class CourseSession(NamedTuple):
    id: int
    session_date: dt.date
    starts_at: dt.time


def course_sessions_held(*, course_id: int, until: dt.date) -> list[CourseSession]:
    """The course's sessions that were held (not cancelled), dated up to ``until``, in order."""
    rows = (
        ClassSession.objects.filter(course_id=course_id, is_cancelled=False, session_date__lte=until)
        .order_by("session_date", "starts_at")
        .values_list("id", "session_date", "starts_at")
    )
    return [CourseSession(*row) for row in rows]


def course_attendance_marks(*, sessions: list[CourseSession]) -> dict[tuple[int, int], str]:
    """``{(session_id, student_id): status}`` for every record at these sessions."""
    if not sessions:
        return {}
    # The sessions' date range too: attendances is partitioned by month on session_date, so the
    # read probes only the months of these sessions instead of every partition's index.
    rows = (
        Attendance.objects.filter(
            session_id__in=[session.id for session in sessions],
            session_date__gte=min(session.session_date for session in sessions),
            session_date__lte=max(session.session_date for session in sessions),
        )
        .order_by()
        .values_list("session_id", "student_id", "status")
    )
    return {(session_id, student_id): status for session_id, student_id, status in rows}
