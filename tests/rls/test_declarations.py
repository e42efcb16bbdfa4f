"""Each app's frozen row-level-security migration matches its rls.py (like makemigrations --check)."""

from __future__ import annotations

import importlib

import pytest

from growthcompass.rls.policies import declarations

LATEST = {
    "students": "students.migrations.0007_row_level_security",
    "courses": "courses.migrations.0008_rls_teacher_students",
    "attendance": "attendance.migrations.0010_rls_per_row_policies",
    "feedback": "feedback.migrations.0007_rls_per_row_policies",
    "auditing": "auditing.migrations.0007_row_level_security",
    "registry_app": "tests.registry_app.migrations.0004_row_level_security",
}


@pytest.mark.parametrize("declaration", declarations(), ids=lambda d: d.app_label)
def test_the_last_frozen_migration_holds_the_apps_current_declaration(declaration) -> None:
    assert declaration.app_label in LATEST, f"{declaration.app_label}/rls.py has no row-level-security migration"
    migration = importlib.import_module(LATEST[declaration.app_label])
    assert migration.TABLES == declaration.tables
    assert migration.POLICIES == declaration.policies


def test_every_app_with_tables_of_its_own_declares_their_row_level_security() -> None:
    assert {d.app_label for d in declarations()} == set(LATEST)
