from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.schema.conftest import (
    ADD_COLUMN,
    NOTE_INITIAL,
    InstallApp,
    applied_names,
    checksum_names,
    column_names,
    schema_snapshot,
    table_exists,
)

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

ADD_SECOND_COLUMN = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{label}", "0002_add_column")]
    operations = [
        migrations.RunSQL(
            sql="ALTER TABLE {label}_note ADD COLUMN second integer",
            reverse_sql="ALTER TABLE {label}_note DROP COLUMN second",
        ),
    ]
"""

IRREVERSIBLE_SQL = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{label}", "0002_add_column")]
    operations = [migrations.RunSQL(sql="UPDATE {label}_note SET title = upper(title)")]
"""

# Depends on the newest students migration, whatever that is when the test runs.
DEPENDS_ON_STUDENTS = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial"), ("students", "{students_leaf}")]
    operations = []
"""


def _migrated_app(install_app: InstallApp, *extra: tuple[str, str]):
    app = install_app()
    app.write_migration("0002_add_column", ADD_COLUMN)
    for name, source in extra:
        app.write_migration(name, source)
    call_command("migrate", app.label, verbosity=0)
    return app


def test_migrate_down_rolls_back_the_last_applied_migration(install_app: InstallApp) -> None:
    app = _migrated_app(install_app)
    out = io.StringIO()

    call_command("migrate_down", stdout=out)

    assert applied_names(app.label) == ["0001_initial"]
    assert checksum_names(app.label) == ["0001_initial"]
    assert "extra" not in column_names(app.note_table)
    assert f"Rolled back 1 migration(s): {app.label}.0002_add_column." in out.getvalue()


def test_migrate_down_n_rolls_back_in_reverse_order_of_application(install_app: InstallApp) -> None:
    app = _migrated_app(install_app, ("0003_add_second_column", ADD_SECOND_COLUMN))
    out = io.StringIO()

    call_command("migrate_down", "3", "--app", app.label, "--json", stdout=out)

    assert json.loads(out.getvalue()) == {
        "unapplied": [
            f"{app.label}.0003_add_second_column",
            f"{app.label}.0002_add_column",
            f"{app.label}.0001_initial",
        ]
    }
    assert applied_names(app.label) == []
    assert checksum_names(app.label) == []
    assert not table_exists(app.note_table)


def test_migrate_down_then_up_round_trips(install_app: InstallApp) -> None:
    app = _migrated_app(install_app)
    before = column_names(app.note_table)

    call_command("migrate_down", "--app", app.label, stdout=io.StringIO())
    call_command("migrate_up", "--app", app.label, stdout=io.StringIO())

    assert column_names(app.note_table) == before
    assert applied_names(app.label) == ["0001_initial", "0002_add_column"]


def test_dry_run_prints_the_reverse_sql_and_changes_nothing(install_app: InstallApp) -> None:
    app = _migrated_app(install_app, ("0003_add_second_column", ADD_SECOND_COLUMN))
    before = schema_snapshot()
    out = io.StringIO()

    call_command("migrate_down", "2", "--dry-run", stdout=out)

    assert schema_snapshot() == before
    text = out.getvalue()
    assert text.index(f"Unapply {app.label}.0003_add_second_column") < text.index(
        f"Unapply {app.label}.0002_add_column"
    )
    assert f"ALTER TABLE {app.label}_note DROP COLUMN second" in text
    assert f"ALTER TABLE {app.label}_note DROP COLUMN extra" in text


def test_irreversible_operation_is_refused_with_nothing_changed(install_app: InstallApp) -> None:
    app = _migrated_app(install_app, ("0003_uppercase", IRREVERSIBLE_SQL))
    before = schema_snapshot()

    with pytest.raises(CommandError) as caught:
        call_command("migrate_down", "2", "--app", app.label)

    message = str(caught.value)
    assert "Refusing to roll back: irreversible operation(s), nothing was changed" in message
    assert f"{app.label}.0003_uppercase operation 1 (RunSQL: Raw SQL operation)" in message
    assert schema_snapshot() == before


def test_dry_run_of_an_irreversible_step_is_refused_too(install_app: InstallApp) -> None:
    app = _migrated_app(install_app, ("0003_uppercase", IRREVERSIBLE_SQL))
    with pytest.raises(CommandError, match="irreversible"):
        call_command("migrate_down", "--app", app.label, "--dry-run")


def test_rolling_back_what_an_applied_migration_elsewhere_needs_is_refused(install_app: InstallApp) -> None:
    students_leaf = MigrationLoader(None).graph.leaf_nodes("students")[0][1]
    app = install_app(
        migrations={
            "0001_initial": NOTE_INITIAL,
            "0002_needs_students": DEPENDS_ON_STUDENTS.replace("{students_leaf}", students_leaf),
        }
    )
    call_command("migrate", app.label, verbosity=0)
    before = schema_snapshot()

    with pytest.raises(CommandError) as caught:
        call_command("migrate_down", "--app", "students")

    assert f"Cannot roll back students.{students_leaf}" in str(caught.value)
    assert f"{app.label}.0002_needs_students" in str(caught.value)
    assert schema_snapshot() == before


def test_rolling_back_more_than_is_applied_is_refused(install_app: InstallApp) -> None:
    app = _migrated_app(install_app)
    with pytest.raises(CommandError, match=f"Only 2 applied migration\\(s\\) in app '{app.label}'; cannot roll back 3"):
        call_command("migrate_down", "3", "--app", app.label)
    assert applied_names(app.label) == ["0001_initial", "0002_add_column"]


def test_rolling_back_a_migration_whose_file_is_missing_is_refused(install_app: InstallApp) -> None:
    app = _migrated_app(install_app)
    app.migration_path("0002_add_column").unlink()

    with pytest.raises(CommandError, match="its file is missing"):
        call_command("migrate_down", "--app", app.label)
    assert applied_names(app.label) == ["0001_initial", "0002_add_column"]


def test_zero_or_negative_count_is_refused() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("migrate_down", "0")


def test_unknown_app_is_refused() -> None:
    with pytest.raises(CommandError, match="has no migrations"):
        call_command("migrate_down", "--app", "no_such_app")


def test_without_app_the_infrastructure_is_never_the_last_migration_rolled_back(install_app: InstallApp) -> None:
    """After a fresh migrate the checksum table's migration was applied last; plain migrate_down skips it."""
    app = _migrated_app(install_app)
    with connection.cursor() as cursor:
        # Re-record schema.0001_initial as the newest applied migration, as a fresh migrate leaves it.
        cursor.execute(
            "WITH moved AS (DELETE FROM django_migrations WHERE app = 'schema' AND name = '0001_initial' "
            "RETURNING app, name, applied) INSERT INTO django_migrations (app, name, applied) "
            "SELECT app, name, applied FROM moved"
        )
        cursor.execute("SELECT app FROM django_migrations ORDER BY id DESC LIMIT 1")
        assert cursor.fetchone() == ("schema",)
    out = io.StringIO()

    call_command("migrate_down", "--dry-run", stdout=out)
    assert f"Unapply {app.label}.0002_add_column" in out.getvalue()
    assert "schema.0001_initial" not in out.getvalue()

    call_command("migrate_down", stdout=io.StringIO())
    assert applied_names(app.label) == ["0001_initial"]
    assert table_exists("schema_migration_checksums")
