from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg import sql

from growthcompass.health import registered_checks, run_checks
from tests.schema.conftest import ADD_COLUMN, NOTE_INITIAL, InstallApp

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

IRREVERSIBLE = """
from django.db import migrations


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial")]
    operations = [migrations.RunPython(forwards)]
"""

BLOCKING_INDEX = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial")]
    operations = [
        migrations.AddIndex(model_name="note", index=models.Index(fields=["title"], name="{label}_title")),
    ]
"""

CONCURRENT_INDEX = """
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("{label}", "0001_initial")]
    operations = [
        AddIndexConcurrently(model_name="note", index=models.Index(fields=["title"], name="{label}_title")),
    ]
"""

BLOCKING_RAW_INDEX = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial")]
    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX IF NOT EXISTS {label}_title ON {label}_note (title)",
            reverse_sql="DROP INDEX IF EXISTS {label}_title",
        ),
    ]
"""

NOTE_MODELS_WITH_BODY = """
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=100)
    body = models.TextField(default="")

    class Meta:
        app_label = "{label}"
        db_table = "{label}_note"
"""


def _validate(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("migrate_validate", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def _insert_notes(table: str, count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("INSERT INTO {} (title) SELECT %s || n FROM generate_series(1, %s) AS n").format(
                sql.Identifier(table)
            ),
            ["note ", count],
        )


def test_validate_passes_on_the_migrated_database_with_a_one_line_summary() -> None:
    out, error = _validate()
    assert error is None, out
    assert len(out.strip().splitlines()) == 1
    assert out.startswith("OK: ")


def test_validate_catches_an_edited_applied_migration(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    path = app.migration_path("0001_initial")
    path.write_text(path.read_text().replace("max_length=100", "max_length=120"))

    out, error = _validate()

    assert error is not None
    assert f"modified: {app.label}.0001_initial: file changed since it was applied (checksum mismatch)" in out
    assert str(error).endswith("migration problem(s) found.")


def test_whitespace_only_changes_are_not_an_edit(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    path = app.migration_path("0001_initial")
    path.write_bytes(path.read_bytes().replace(b"\n", b"   \r\n") + b"\r\n\r\n")

    out, _ = _validate()

    assert app.label not in out


def test_validate_catches_a_deleted_applied_migration(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_add_column", ADD_COLUMN)
    call_command("migrate", app.label, verbosity=0)
    app.migration_path("0002_add_column").unlink()

    out, error = _validate()

    assert error is not None
    assert f"missing-file: {app.label}.0002_add_column: applied, but its file is missing" in out


def test_validate_catches_an_applied_migration_without_a_checksum(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM schema_migration_checksums WHERE app = %s", [app.label])

    out, error = _validate()

    assert error is not None
    assert f"unrecorded: {app.label}.0001_initial" in out
    # Any migrate run, even one with nothing to apply, records what is missing.
    call_command("migrate_up", stdout=io.StringIO())
    assert app.label not in _validate()[0]


def test_validate_catches_model_changes_without_a_migration(install_app: InstallApp) -> None:
    app = install_app(models=NOTE_MODELS_WITH_BODY)

    out, error = _validate()

    assert error is not None
    assert f"model-changes: {app.label}: models have changes with no migration (Add field body to note)" in out


def test_validate_catches_conflicting_leaf_migrations(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_left", ADD_COLUMN)
    app.write_migration("0002_right", ADD_COLUMN.replace("extra", "other"))

    out, error = _validate()

    assert error is not None
    assert f"conflict: {app.label}: conflicting leaf migrations 0002_left, 0002_right" in out


def test_validate_catches_an_irreversible_project_migration(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_irreversible", IRREVERSIBLE)

    out, error = _validate()

    assert error is not None
    assert f"irreversible: {app.label}.0002_irreversible: operation 1 (RunPython: Raw Python operation)" in out


def test_validate_catches_inconsistent_history(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_add_column", ADD_COLUMN)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, '0002_add_column', now())", [app.label]
        )

    out, error = _validate()

    assert error is not None
    assert f"inconsistent-history: -: Migration {app.label}.0002_add_column is applied before its dependency" in out


def test_pending_blocking_index_on_a_large_table_is_flagged(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    _insert_notes(app.note_table, 50)
    app.write_migration("0002_title_index", BLOCKING_INDEX)

    out, error = _validate("--large-table-rows", "50")

    assert error is not None
    assert f"locking: {app.label}.0002_title_index: AddIndex" in out
    assert f"on {app.note_table} (at least 50 rows) without CONCURRENTLY" in out


def test_blocking_index_in_raw_sql_is_flagged_too(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    _insert_notes(app.note_table, 50)
    app.write_migration("0002_title_index", BLOCKING_RAW_INDEX)

    out, error = _validate("--large-table-rows", "50")

    assert error is not None
    assert f"locking: {app.label}.0002_title_index: RunSQL (CREATE INDEX) builds an index on {app.note_table}" in out


def test_blocking_index_on_a_small_table_is_not_flagged(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    _insert_notes(app.note_table, 49)
    app.write_migration("0002_title_index", BLOCKING_INDEX)

    out, _ = _validate("--large-table-rows", "50")

    assert "locking:" not in out


def test_concurrent_index_in_a_non_atomic_migration_is_not_flagged(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    _insert_notes(app.note_table, 50)
    app.write_migration("0002_title_index", CONCURRENT_INDEX)

    out, _ = _validate("--large-table-rows", "50")

    assert "locking:" not in out


def test_validate_json_lists_problems_and_still_exits_non_zero(install_app: InstallApp) -> None:
    app = install_app(migrations={"0001_initial": NOTE_INITIAL, "0002_irreversible": IRREVERSIBLE})
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("migrate_validate", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["ok"] is False
    [problem] = [problem for problem in report["problems"] if problem["app"] == app.label]
    assert (problem["kind"], problem["migration"]) == ("irreversible", "0002_irreversible")


def test_migrations_health_check_is_healthy_on_the_migrated_database() -> None:
    assert "migrations" in registered_checks()
    [healthy] = run_checks(["migrations"])
    assert healthy.ok, healthy.detail
    assert healthy.detail.startswith("OK: ")


def test_migrations_health_check_reports_an_edited_applied_migration(install_app: InstallApp) -> None:
    app = install_app()
    call_command("migrate", app.label, verbosity=0)
    app.migration_path("0001_initial").write_text("# emptied\n")

    [broken] = run_checks(["migrations"])
    assert not broken.ok
    assert f"modified: {app.label}.0001_initial" in broken.detail
    assert [problem["kind"] for problem in broken.data["problems"] if problem["app"] == app.label] == ["modified"]
