"""``migrations_validate``: everything that makes the migration history untrustworthy.

Problems found, one per line:

- ``modified``: an applied migration's file changed since it was applied;
- ``missing-file``: an applied migration's file is gone;
- ``unrecorded``: an applied migration has no checksum to compare against;
- ``model-changes``: models differ from what the migrations build;
- ``conflict``: an app has more than one leaf migration;
- ``inconsistent-history``: a migration is applied before one it depends on;
- ``irreversible``: a project migration has an operation that cannot be unapplied;
- ``locking``: a pending migration builds an index on a large existing table
  without ``CONCURRENTLY`` (it would block writes for the whole build).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import truncate_name
from django.db.migrations import Migration
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.exceptions import InconsistentMigrationHistory
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddConstraint, AddIndex, RunSQL
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.state import ProjectState
from django.db.models import UniqueConstraint
from psycopg import sql

from growthcompass.schema import selectors
from growthcompass.schema.discovery import project_app_labels
from growthcompass.schema.selectors import (
    MISSING_FILE,
    MODIFIED,
    UNRECORDED,
    irreversible_operations,
    project_migrated_apps,
)

# A blocking index build on a table this size stalls writes noticeably.
LARGE_TABLE_ROWS = 100_000

# CREATE [UNIQUE] INDEX without CONCURRENTLY in hand-written SQL; group 1 is the table.
_BLOCKING_CREATE_INDEX = re.compile(
    r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+(?:ONLY\s+)?\"?([\w]+)\"?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Problem:
    kind: str
    app: str
    migration: str | None
    message: str

    def line(self) -> str:
        where = f"{self.app}.{self.migration}" if self.migration else self.app
        return f"{self.kind}: {where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)
    applied_checked: int = 0
    migrations_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.applied_checked} applied project migration(s) match their checksums; "
                f"{self.migrations_checked} project migration(s) reversible; "
                "no model changes without a migration, no conflicts."
            )
        return f"{len(self.problems)} migration problem(s) found."

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "applied_checked": self.applied_checked,
            "migrations_checked": self.migrations_checked,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def migrations_validate(*, using: str = DEFAULT_DB_ALIAS, large_table_rows: int = LARGE_TABLE_ROWS) -> ValidationReport:
    """Check checksums, model changes, conflicts, history, reversibility and pending index builds."""
    connection = connections[using]
    executor = MigrationExecutor(connection)
    loader = executor.loader
    project_apps = project_migrated_apps(loader)
    problems: list[Problem] = []

    try:
        loader.check_consistent_history(connection)
    except InconsistentMigrationHistory as exc:
        problems.append(Problem("inconsistent-history", "-", None, str(exc)))

    conflicts = loader.detect_conflicts()
    for app, names in sorted(conflicts.items()):
        problems.append(
            Problem("conflict", app, None, f"conflicting leaf migrations {', '.join(sorted(names))}; merge them")
        )

    if not selectors.checksum_table_exists(connection):
        problems.append(
            Problem(
                "unrecorded",
                "schema",
                None,
                "the checksum table does not exist; apply the schema app's migrations (manage.py migrate_up)",
            )
        )
    statuses = selectors.migration_status_list(using=using, loader=loader)
    messages = {
        MODIFIED: "file changed since it was applied (checksum mismatch)",
        MISSING_FILE: "applied, but its file is missing",
        UNRECORDED: "applied, but no checksum was recorded (run manage.py migrate_up to record it)",
    }
    for status in statuses:
        if status.checksum_state in messages:
            kind = status.checksum_state.replace(" ", "-")
            problems.append(Problem(kind, status.app, status.name, messages[status.checksum_state]))

    if not conflicts:
        problems += _model_changes(loader)

    project_migrations = [m for key, m in sorted(loader.disk_migrations.items()) if key[0] in project_apps]
    for migration in project_migrations:
        for operation in irreversible_operations(migration):
            problems.append(
                Problem("irreversible", migration.app_label, migration.name, f"{operation} is irreversible")
            )

    if not conflicts:
        problems += _blocking_index_builds(executor, project_apps, large_table_rows)

    return ValidationReport(
        problems=problems,
        applied_checked=sum(1 for status in statuses if status.applied),
        migrations_checked=len(project_migrations),
    )


def _model_changes(loader: MigrationLoader) -> list[Problem]:
    # The base questioner never prompts and never exits; its answers don't matter for detection.
    autodetector = MigrationAutodetector(
        loader.project_state(), ProjectState.from_apps(apps), MigrationQuestioner(dry_run=True)
    )
    changes = autodetector.changes(graph=loader.graph)
    project_labels = project_app_labels()
    problems = []
    for app, migrations in sorted(changes.items()):
        if app not in project_labels:
            continue
        descriptions = [operation.describe() for migration in migrations for operation in migration.operations]
        shown = "; ".join(descriptions[:3]) + (f"; and {len(descriptions) - 3} more" if len(descriptions) > 3 else "")
        problems.append(
            Problem("model-changes", app, None, f"models have changes with no migration ({shown}); run migrate_create")
        )
    return problems


def _blocking_index_builds(executor: MigrationExecutor, project_apps: set[str], large_table_rows: int) -> list[Problem]:
    loader = executor.loader
    connection = executor.connection
    problems = []
    plan = executor.migration_plan(loader.graph.leaf_nodes())
    for migration, _ in plan:
        if migration.app_label not in project_apps:
            continue
        for operation_name, table in _index_builds(loader, connection, migration):
            rows = _rows_at_least(connection, table, large_table_rows)
            if rows is not None and rows >= large_table_rows:
                problems.append(
                    Problem(
                        "locking",
                        migration.app_label,
                        migration.name,
                        f"{operation_name} builds an index on {table} (at least {rows} rows) without CONCURRENTLY, "
                        "blocking writes for the whole build; use AddIndexConcurrently (or CREATE INDEX "
                        "CONCURRENTLY in RunSQL) in a migration with atomic = False",
                    )
                )
    return problems


def _index_builds(
    loader: MigrationLoader, connection: BaseDatabaseWrapper, migration: Migration
) -> Iterator[tuple[str, str]]:
    """(description, table) of each blocking index build in ``migration``."""
    state: ProjectState | None = None
    for operation in selectors._operations(migration.operations):
        blocking_index = isinstance(operation, AddIndex) and not isinstance(operation, AddIndexConcurrently)
        unique_constraint = isinstance(operation, AddConstraint) and isinstance(
            getattr(operation, "constraint", None), UniqueConstraint
        )
        if blocking_index or unique_constraint:
            if state is None:
                state = loader.project_state((migration.app_label, migration.name), at_end=False)
            model_name = operation.model_name_lower  # type: ignore[attr-defined]
            model_state = state.models.get((migration.app_label, model_name))
            table = (model_state.options.get("db_table") if model_state else None) or truncate_name(
                f"{migration.app_label}_{model_name}", connection.ops.max_name_length()
            )
            yield f"{type(operation).__name__} ({operation.describe()})", table
        elif isinstance(operation, RunSQL):
            statements = operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
            for statement in statements:
                text = statement[0] if isinstance(statement, list | tuple) else statement
                for match in _BLOCKING_CREATE_INDEX.finditer(str(text)):
                    yield "RunSQL (CREATE INDEX)", match.group(1)


def _rows_at_least(connection: BaseDatabaseWrapper, table: str, limit: int) -> int | None:
    """Rows in ``table``, counted up to ``limit`` (None when the table does not exist yet)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [connection.ops.quote_name(table)])
        row = cursor.fetchone()
        if not row or not row[0]:
            return None
        # Exact up to the limit: reltuples is -1 until the first ANALYZE and stale after bulk loads.
        cursor.execute(
            sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) AS sample").format(sql.Identifier(table)),
            [limit],
        )
        counted = cursor.fetchone()
    return int(counted[0]) if counted else 0
