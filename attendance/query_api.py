"""The attendance app's tables in the safe query API, with the columns it may read."""

from __future__ import annotations

from attendance.models import Attendance, ClassSession
from growthcompass.db.tables import register_table

register_table(
    "class_sessions",
    ClassSession,
    ("id", "course_id", "session_date", "starts_at", "ends_at", "topic", "is_cancelled"),
)
register_table(
    "attendances",
    Attendance,
    (
        "id",
        "student_id",
        "session_id",
        "session_date",
        "status",
        "minutes_late",
        "recorded_by_id",
        "created_at",
        "note",
    ),
)
