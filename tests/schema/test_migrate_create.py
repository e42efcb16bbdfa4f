from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.schema.conftest import InstallApp, applied_names

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

NOTE_MODELS_WITH_BODY = """
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=100)
    body = models.TextField(default="")

    class Meta:
        app_label = "{label}"
        db_table = "{label}_note"
"""

NOTE_MODELS_WITH_REQUIRED_FIELD = NOTE_MODELS_WITH_BODY.replace('models.TextField(default="")', "models.TextField()")


def test_migrate_create_writes_the_model_changes_under_the_given_name(install_app: InstallApp) -> None:
    app = install_app(models=NOTE_MODELS_WITH_BODY)
    out = io.StringIO()

    call_command("migrate_create", "note_body", "--app", app.label, "--json", stdout=out)

    [created] = [Path(path) for path in json.loads(out.getvalue())["created"]]
    assert created == app.migration_path("0002_note_body")
    source = created.read_text()
    assert "migrations.AddField(" in source and "name='body'" in source
    assert f"('{app.label}', '0001_initial')" in source
    call_command("migrate_up", "--app", app.label, stdout=io.StringIO())
    assert applied_names(app.label) == ["0001_initial", "0002_note_body"]


def test_migrate_create_empty_writes_a_migration_without_operations(install_app: InstallApp) -> None:
    app = install_app()
    out = io.StringIO()

    call_command("migrate_create", "backfill_titles", "--app", app.label, "--empty", stdout=out)

    created = app.migration_path("0002_backfill_titles")
    assert f"Created {created}" in out.getvalue()
    assert "operations = [\n    ]" in created.read_text()


def test_migrate_create_without_changes_is_refused_and_writes_nothing(install_app: InstallApp) -> None:
    app = install_app()
    with pytest.raises(CommandError, match=r"No model changes in app .*use --empty"):
        call_command("migrate_create", "nothing", "--app", app.label)
    assert sorted(path.name for path in app.migrations_dir.glob("*.py")) == ["0001_initial.py", "__init__.py"]


def test_not_null_field_without_default_is_refused_instead_of_exiting(install_app: InstallApp) -> None:
    app = install_app(models=NOTE_MODELS_WITH_REQUIRED_FIELD)
    with pytest.raises(CommandError, match="NOT NULL without a default"):
        call_command("migrate_create", "note_body", "--app", app.label)
    assert not app.migration_path("0002_note_body").exists()


@pytest.mark.parametrize("name", ["Bad-Name", "1starts_with_digit", "has space", ""])
def test_invalid_migration_names_are_refused(install_app: InstallApp, name: str) -> None:
    app = install_app()
    with pytest.raises(CommandError, match=r"must be lower-case letters|must not be empty"):
        call_command("migrate_create", name, "--app", app.label, "--empty")


def test_unknown_app_is_refused() -> None:
    with pytest.raises(CommandError, match="No installed app with label 'no_such_app'"):
        call_command("migrate_create", "x", "--app", "no_such_app", "--empty")


def test_apps_that_are_not_the_projects_are_refused() -> None:
    with pytest.raises(CommandError, match="App 'auth' is not one of the project's apps"):
        call_command("migrate_create", "x", "--app", "auth", "--empty")
