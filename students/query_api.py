"""The students app's tables in the safe query API, with the columns it may read."""

from __future__ import annotations

from growthcompass.db.tables import register_table
from students.models import Guardian, Student

register_table(
    "students",
    Student,
    ("id", "student_number", "grade_level", "status", "enrolled_on", "left_on", "leaving_reason"),
)
register_table(
    "guardians",
    Guardian,
    ("id", "student_id", "full_name", "relationship", "phone", "email", "is_primary", "is_emergency_contact"),
)
