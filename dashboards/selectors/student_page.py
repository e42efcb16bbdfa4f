"""One student's dashboard reads: bounded by that student's own rows, through their indexes.

Attendance goes through ``idx_attendance_student_session`` (a student has a few
hundred rows a year), feedback through ``idx_feedback_student_date`` with a LIMIT.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from django.db import connections

from dashboards.selectors.school import WeekAttendance
from feedback.models import ParsedStudentFeedback

__all__ = ["FEEDBACK_POINTS", "FeedbackEntry", "student_attendance_weekly", "student_feedback_recent"]

# The most feedback entries the page plots: a year of weekly notes.
FEEDBACK_POINTS = 52


class FeedbackEntry(NamedTuple):
    parsed_at: dt.datetime
    scores: dict[str, Any]


def student_attendance_weekly(*, student_id: int, starts_on: dt.date, ends_on: dt.date) -> list[WeekAttendance]:
    """The student's attendance per week between the two dates, on held sessions dated up to today."""
    query = """
        SELECT date_trunc('week', cs.session_date)::date,
               count(*) FILTER (WHERE a.status = 'present'),
               count(*) FILTER (WHERE a.status = 'late'),
               count(*) FILTER (WHERE a.status = 'absent'),
               count(*) FILTER (WHERE a.status = 'excused')
          FROM attendances a
          JOIN class_sessions cs ON cs.id = a.session_id
         WHERE a.student_id = %s AND NOT cs.is_cancelled
           AND cs.session_date BETWEEN %s AND %s AND cs.session_date <= current_date
         GROUP BY 1 ORDER BY 1
    """
    with connections["default"].cursor() as cursor:
        cursor.execute(query, [student_id, starts_on, ends_on])
        rows = cursor.fetchall()
    return [WeekAttendance(*row) for row in rows]


def student_feedback_recent(*, student_id: int, limit: int = FEEDBACK_POINTS) -> list[FeedbackEntry]:
    """The student's latest ``limit`` feedback entries, oldest first (the order a chart reads them)."""
    rows = (
        ParsedStudentFeedback.objects.filter(student_id=student_id)
        .order_by("-parsed_at", "-id")
        .values_list("parsed_at", "scores")[:limit]
    )
    return [FeedbackEntry(*row) for row in reversed(list(rows))]
