"""The feedback app's table in the safe query API, with the columns it may read."""

from __future__ import annotations

from feedback.models import ParsedStudentFeedback
from growthcompass.db.tables import register_table

register_table(
    "parsed_student_feedback",
    ParsedStudentFeedback,
    ("id", "student_id", "session_id", "author_id", "raw_text", "parsed_at", "scores", "sentiment", "tags"),
)
