"""The domain tables, named once for the tests that check something holds for each of them."""

from __future__ import annotations

DOMAIN_TABLES = frozenset(
    {
        "students",
        "guardians",
        "terms",
        "courses",
        "enrollments",
        "class_sessions",
        "attendances",
        "parsed_student_feedback",
    }
)
