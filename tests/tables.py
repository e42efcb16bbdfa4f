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

# The throwaway app the test settings install (tests/registry_app): it registers its table with every registry.
REGISTRY_APP_TABLES = frozenset({"registry_widgets"})
