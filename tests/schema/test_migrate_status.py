from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from growthcompass.schema.discovery import project_app_labels
from tests.schema.conftest import ADD_COLUMN, InstallApp

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]


def _status(*args: str) -> dict[tuple[str, str], dict]:
    out = io.StringIO()
    call_command("migrate_status", "--json", *args, stdout=out)
    return {(row["app"], row["name"]): row for row in json.loads(out.getvalue())["migrations"]}


def test_every_project_migration_is_listed_applied_with_a_matching_checksum() -> None:
    loader = MigrationLoader(connection)
    project = project_app_labels()
    expected = {key for key in loader.disk_migrations if key[0] in project}
    assert expected, "the project has migrations"

    rows = _status()

    assert set(rows) == expected
    assert {row["checksum_state"] for row in rows.values()} == {"ok"}
    assert all(row["applied"] and row["applied_at"] for row in rows.values())
    assert all(row["recorded_checksum"] == row["current_checksum"] for row in rows.values())


def test_contrib_apps_are_listed_only_with_all() -> None:
    assert not any(app == "auth" for app, _ in _status())
    assert any(app == "auth" for app, _ in _status("--all"))


def test_a_contrib_app_named_with_app_is_listed_without_all() -> None:
    listed = _status("--app", "auth")
    assert listed and {app for app, _ in listed} == {"auth"}
    assert ("auth", "0001_initial") in listed


def test_pending_migration_is_listed_as_pending(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    app.write_migration("0002_add_column", ADD_COLUMN)

    rows = _status("--app", app.label)

    assert rows[(app.label, "0001_initial")]["checksum_state"] == "ok"
    assert (
        rows[(app.label, "0002_add_column")] | {"checksum_state": "pending", "applied": False}
        == rows[(app.label, "0002_add_column")]
    )
    assert rows[(app.label, "0002_add_column")]["applied_at"] is None


def test_edited_applied_migration_is_shown_as_modified(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    with app.migration_path("0001_initial").open("a", encoding="utf-8") as handle:
        handle.write("# edited after it was applied\n")

    row = _status("--app", app.label)[(app.label, "0001_initial")]

    assert row["checksum_state"] == "modified"
    assert row["recorded_checksum"] != row["current_checksum"]


def test_deleted_applied_migration_is_shown_as_missing_file(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_add_column", ADD_COLUMN)
    call_command("migrate", app.label, verbosity=0)
    app.migration_path("0002_add_column").unlink()

    row = _status("--app", app.label)[(app.label, "0002_add_column")]

    assert row["checksum_state"] == "missing file"
    assert row["applied"] is True
    assert row["current_checksum"] is None


def test_text_output_shows_app_mark_time_and_state(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    app.write_migration("0002_add_column", ADD_COLUMN)
    out = io.StringIO()

    call_command("migrate_status", "--app", app.label, stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == app.label
    assert lines[1].startswith(" [X] 0001_initial") and lines[1].rstrip().endswith("ok")
    assert lines[2].startswith(" [ ] 0002_add_column") and lines[2].rstrip().endswith("pending")
    assert lines[-1] == "1 applied, 1 pending, 0 with a checksum problem."


def test_status_of_an_unknown_app_is_refused() -> None:
    with pytest.raises(CommandError, match="No migrations found"):
        call_command("migrate_status", "--app", "no_such_app")
