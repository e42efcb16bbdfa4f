"""The registry test app's table under row-level security, like any domain table: staff see every row."""

from __future__ import annotations

from growthcompass.rls.policies import staff_policy

RLS_TABLES = ("registry_widgets",)
POLICIES = (staff_policy("registry_widgets"),)
