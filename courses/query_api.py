"""The courses app's tables in the safe query API, with the columns it may read."""

from __future__ import annotations

from courses.models import Course, Enrollment, Term
from growthcompass.db.tables import register_table

register_table("terms", Term, ("id", "name", "starts_on", "ends_on"))
register_table(
    "courses",
    Course,
    ("id", "code", "name", "subject", "grade_level", "term_id", "teacher_id", "capacity", "is_active"),
)
register_table(
    "enrollments", Enrollment, ("id", "student_id", "course_id", "status", "enrolled_at", "ended_at", "reason")
)
