"""Row-level security of the students app's tables: staff see every row.

What a teacher sees of them (the students enrolled in their courses) is
declared by the courses app, which knows enrolments (courses/rls.py).
"""

from __future__ import annotations

from growthcompass.rls.policies import staff_policy

RLS_TABLES = ("students", "guardians")
POLICIES = (staff_policy("students"), staff_policy("guardians"))
