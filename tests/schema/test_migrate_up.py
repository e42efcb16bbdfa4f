from __future__ import annotations

import importlib
import io
import json

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection

from tests.schema.conftest import (
    ADD_COLUMN,
    InstallApp,
    applied_names,
    checksum_names,
    column_names,
    schema_snapshot,
    table_exists,
)

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

# Captures the session timeouts seen from inside a running migration.
CAPTURE_TIMEOUTS = """
from django.db import migrations

SEEN = []


def capture(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        SEEN.append(cursor.fetchone())


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial")]
    operations = [migrations.RunPython(capture, migrations.RunPython.noop)]
"""

# Needs an ACCESS EXCLUSIVE lock on a table other sessions can see (students exists in the test database).
ALTER_STUDENTS = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial")]
    operations = [
        migrations.RunSQL(
            sql="ALTER TABLE students ADD COLUMN {label}_probe integer",
            reverse_sql="ALTER TABLE students DROP COLUMN {label}_probe",
        ),
    ]
"""


def _session_timeouts() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        row = cursor.fetchone()
    assert row is not None
    return row[0], row[1]


def test_migrate_up_applies_pending_migrations_and_records_their_checksums(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_add_column", ADD_COLUMN)
    out = io.StringIO()

    call_command("migrate_up", "--app", app.label, stdout=out)

    assert applied_names(app.label) == ["0001_initial", "0002_add_column"]
    assert checksum_names(app.label) == ["0001_initial", "0002_add_column"]
    assert "extra" in column_names(app.note_table)
    assert "Applied 2 migration(s)" in out.getvalue()


def test_migrate_up_json_lists_the_applied_migrations(install_app: InstallApp) -> None:
    app = install_app()
    out = io.StringIO()

    call_command("migrate_up", "--app", app.label, "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"applied": [f"{app.label}.0001_initial"]}


def test_plain_migrate_records_checksums_too(install_app: InstallApp) -> None:
    app = install_app()

    call_command("migrate", app.label, verbosity=0)

    assert checksum_names(app.label) == ["0001_initial"]


def test_dry_run_prints_plan_and_sql_and_changes_nothing(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_add_column", ADD_COLUMN)
    before = schema_snapshot()
    out = io.StringIO()

    call_command("migrate_up", "--dry-run", stdout=out)

    assert schema_snapshot() == before
    text = out.getvalue()
    assert f"Apply {app.label}.0001_initial" in text
    assert f"Apply {app.label}.0002_add_column" in text
    assert f'CREATE TABLE "{app.note_table}"' in text
    assert f"ALTER TABLE {app.note_table} ADD COLUMN extra integer" in text
    assert text.index("0001_initial") < text.index("0002_add_column")


def test_dry_run_json_gives_each_step_with_its_sql(install_app: InstallApp) -> None:
    app = install_app()
    out = io.StringIO()

    call_command("migrate_up", "--dry-run", "--app", app.label, "--json", stdout=out)

    steps = json.loads(out.getvalue())["plan"]
    assert [(step["app"], step["name"]) for step in steps] == [(app.label, "0001_initial")]
    assert any(f'CREATE TABLE "{app.note_table}"' in statement for statement in steps[0]["sql"])
    assert not table_exists(app.note_table)


def test_dry_run_with_nothing_pending_says_so() -> None:
    out = io.StringIO()
    call_command("migrate_up", "--dry-run", stdout=out)
    assert out.getvalue().strip() == "No pending migrations."


def test_migrate_up_refuses_an_app_without_migrations() -> None:
    with pytest.raises(CommandError, match="has no migrations"):
        call_command("migrate_up", "--app", "no_such_app")


def test_migrate_up_refuses_conflicting_leaf_migrations(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_left", ADD_COLUMN)
    app.write_migration("0002_right", ADD_COLUMN.replace("extra", "other"))

    with pytest.raises(CommandError, match="Conflicting migrations"):
        call_command("migrate_up", "--dry-run")
    with pytest.raises(CommandError, match="Conflicting migrations"):
        call_command("migrate_up")
    assert applied_names(app.label) == []


def test_migrations_run_with_a_lock_timeout_and_no_statement_timeout(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_capture", CAPTURE_TIMEOUTS)
    before = _session_timeouts()

    call_command("migrate", app.label, verbosity=0)

    seen = importlib.import_module(f"{app.label}.migrations.0002_capture").SEEN
    assert seen == [("5s", "0")]
    # ... and the session is back to its own settings afterwards (the pooled connection keeps no trace).
    assert _session_timeouts() == before


def test_lock_timeout_option_overrides_the_default(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_capture", CAPTURE_TIMEOUTS)

    call_command("migrate_up", "--app", app.label, "--lock-timeout", "1234", stdout=io.StringIO())

    assert importlib.import_module(f"{app.label}.migrations.0002_capture").SEEN == [("1234ms", "0")]


def test_a_migration_blocked_by_a_lock_fails_fast_instead_of_queueing(install_app: InstallApp) -> None:
    app = install_app()
    app.write_migration("0002_alter_students", ALTER_STUDENTS)
    call_command("migrate", app.label, "0001", verbosity=0)
    before = _session_timeouts()
    settings_dict = connection.settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
    ) as traffic:
        # An open read transaction holds ACCESS SHARE on students, as live traffic would.
        traffic.execute("SELECT 1 FROM students LIMIT 1")
        with pytest.raises(OperationalError) as caught:
            call_command("migrate_up", "--app", app.label, "--lock-timeout", "100", stdout=io.StringIO())
        traffic.rollback()

    assert isinstance(caught.value.__cause__, psycopg.errors.LockNotAvailable)
    assert applied_names(app.label) == ["0001_initial"]
    assert _session_timeouts() == before


def test_migrate_up_refuses_a_negative_lock_timeout() -> None:
    with pytest.raises(CommandError, match="--lock-timeout"):
        call_command("migrate_up", "--lock-timeout", "-1")
