"""Throwaway apps in a tmp dir, so no test ever edits a real migration file.

``install_app`` writes a package (models and migrations) under ``tmp_path``,
puts it on ``sys.path`` and installs it with ``override_settings``; every app
gets a unique label so model registrations never collide across tests.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

NOTE_MODELS = """
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=100)

    class Meta:
        app_label = "{label}"
        db_table = "{label}_note"
"""

NOTE_INITIAL = """
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=100)),
            ],
            options={{"db_table": "{label}_note"}},
        ),
    ]
"""

# A reversible second step that leaves the model state alone.
ADD_COLUMN = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{label}", "0001_initial")]
    operations = [
        migrations.RunSQL(
            sql="ALTER TABLE {label}_note ADD COLUMN extra integer",
            reverse_sql="ALTER TABLE {label}_note DROP COLUMN extra",
        ),
    ]
"""


@dataclass
class ThrowawayApp:
    label: str
    package: Path

    @property
    def migrations_dir(self) -> Path:
        return self.package / "migrations"

    @property
    def note_table(self) -> str:
        return f"{self.label}_note"

    def migration_path(self, name: str) -> Path:
        return self.migrations_dir / f"{name}.py"

    def write_migration(self, name: str, source: str) -> Path:
        path = self.migration_path(name)
        path.write_text(textwrap.dedent(source).format(label=self.label).lstrip(), encoding="utf-8")
        importlib.invalidate_caches()
        return path


InstallApp = Callable[..., ThrowawayApp]


@pytest.fixture
def install_app(tmp_path: Path) -> Iterator[InstallApp]:
    stack = ExitStack()
    labels: list[str] = []

    def install(
        *, models: str = NOTE_MODELS, migrations: dict[str, str] | None = None, extra_apps: list[str] | None = None
    ) -> ThrowawayApp:
        label = f"tw_{uuid.uuid4().hex[:10]}"
        package = tmp_path / label
        (package / "migrations").mkdir(parents=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
        (package / "migrations" / "__init__.py").write_text("", encoding="utf-8")
        (package / "models.py").write_text(textwrap.dedent(models).format(label=label), encoding="utf-8")
        app = ThrowawayApp(label=label, package=package)
        for name, source in (migrations if migrations is not None else {"0001_initial": NOTE_INITIAL}).items():
            app.write_migration(name, source)
        if str(tmp_path) not in sys.path:
            sys.path.insert(0, str(tmp_path))
            stack.callback(sys.path.remove, str(tmp_path))
        importlib.invalidate_caches()
        labels.append(label)
        stack.enter_context(override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, label, *(extra_apps or [])]))
        return app

    yield install
    stack.close()
    for name in [name for name in sys.modules if name.split(".")[0] in labels]:
        del sys.modules[name]


def schema_snapshot() -> dict[str, Any]:
    """Everything a migration could change: relations, columns, indexes, constraints, both history tables."""
    queries = {
        "relations": "SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' ORDER BY 1",
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
        "functions": "SELECT proname, pg_get_function_identity_arguments(oid) FROM pg_proc "
        "WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2",
        "django_migrations": "SELECT id, app, name, applied FROM django_migrations ORDER BY id",
        "checksums": "SELECT app, name, checksum, recorded_at FROM schema_migration_checksums ORDER BY app, name",
    }
    snapshot = {}
    with connection.cursor() as cursor:
        for key, query in queries.items():
            cursor.execute(query)
            snapshot[key] = cursor.fetchall()
    return snapshot


def applied_names(app_label: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM django_migrations WHERE app = %s ORDER BY id", [app_label])
        return [row[0] for row in cursor.fetchall()]


def checksum_names(app_label: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM schema_migration_checksums WHERE app = %s ORDER BY name", [app_label])
        return [row[0] for row in cursor.fetchall()]


def table_exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        row = cursor.fetchone()
    return bool(row and row[0])


def column_names(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]
