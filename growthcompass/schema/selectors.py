"""Reads: the state of every migration, plans, their SQL, irreversible operations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations import Migration
from django.db.migrations.exceptions import InconsistentMigrationHistory
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder

from growthcompass.schema.checksums import file_checksum
from growthcompass.schema.discovery import expected_migration_file, migration_file, project_app_labels
from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.models import MigrationChecksum

# The infrastructure's own apps (growthcompass.schema, growthcompass.cache, ...), by module path.
_INFRASTRUCTURE = "growthcompass."

MigrationKey = tuple[str, str]
PlanStep = tuple[Migration, bool]

# Checksum states reported by ``migration_status_list``.
OK = "ok"
MODIFIED = "modified"
MISSING_FILE = "missing file"
UNRECORDED = "unrecorded"
REPLACED = "replaced"
PENDING = "pending"


@dataclass(frozen=True)
class MigrationStatus:
    """One migration as the database and the disk see it."""

    app: str
    name: str
    applied: bool
    applied_at: dt.datetime | None
    checksum_state: str
    recorded_checksum: str | None
    current_checksum: str | None
    recorded_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("applied_at", "recorded_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def checksum_table_exists(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        return MigrationChecksum._meta.db_table in connection.introspection.table_names(cursor)


def recorded_checksums(connection: BaseDatabaseWrapper) -> dict[MigrationKey, MigrationChecksum]:
    if not checksum_table_exists(connection):
        return {}
    return {(row.app, row.name): row for row in MigrationChecksum.objects.using(connection.alias)}


def project_migrated_apps(loader: MigrationLoader) -> set[str]:
    """Project apps that have a migrations package."""
    return project_app_labels() & set(loader.migrated_apps)


def default_rollback_apps(loader: MigrationLoader) -> set[str]:
    """What ``migrate_down`` rolls back when no ``--app`` is named: the project apps but the infrastructure's.

    The infrastructure's own tables (the migration checksums among them) are
    created last by a fresh ``migrate``, so "the last applied migration of the
    project" used to be ``schema.0001_initial``: one rollback dropped the
    checksum table. They are rolled back only when named with ``--app``.
    """
    infrastructure = {config.label for config in apps.get_app_configs() if config.name.startswith(_INFRASTRUCTURE)}
    return project_migrated_apps(loader) - infrastructure


def replaced_by(loader: MigrationLoader) -> dict[MigrationKey, MigrationKey]:
    """Each migration replaced by a squashed migration that is in the graph -> that squash."""
    mapping: dict[MigrationKey, MigrationKey] = {}
    for squash_key, squash in loader.replacements.items():
        if squash_key in loader.graph.nodes:
            for replaced in squash.replaces:
                mapping[tuple(replaced)] = squash_key
    return mapping


def migration_status_list(
    *,
    using: str = DEFAULT_DB_ALIAS,
    all_apps: bool = False,
    app_label: str | None = None,
    loader: MigrationLoader | None = None,
) -> list[MigrationStatus]:
    """Every migration of the project apps (or of all apps), applied or pending, with its checksum state.

    Applied migrations whose file is gone are listed too (state ``missing file``);
    so are applied migrations of uninstalled apps that once had checksums recorded.
    ``loader`` reuses a graph the caller already loaded from ``using``.
    """
    connection = connections[using]
    if loader is None:
        loader = MigrationLoader(connection, ignore_no_migrations=True)
    recorder = MigrationRecorder(connection)
    applied_at = {(row.app, row.name): row.applied for row in recorder.migration_qs} if recorder.has_table() else {}
    stored = recorded_checksums(connection)
    squashes = replaced_by(loader)

    if app_label is not None:
        # An app named explicitly is shown whoever wrote it (``--app auth`` needs no ``--all``).
        labels = {app_label}
    else:
        labels = set(loader.migrated_apps) if all_apps else project_migrated_apps(loader) | {app for app, _ in stored}
    keys = {key for key in loader.disk_migrations if key[0] in labels}
    keys |= {key for key in loader.applied_migrations if key[0] in labels}

    statuses = []
    for key in sorted(keys):
        migration = loader.disk_migrations.get(key)
        applied = key in loader.applied_migrations
        path = migration_file(migration) if migration is not None else expected_migration_file(*key)
        current = file_checksum(path) if path is not None else None
        row = stored.get(key)
        if not applied:
            state = PENDING
        elif path is None:
            state = REPLACED if key in squashes else MISSING_FILE
        elif row is None:
            state = UNRECORDED
        else:
            state = OK if row.checksum == current else MODIFIED
        statuses.append(
            MigrationStatus(
                app=key[0],
                name=key[1],
                applied=applied,
                applied_at=applied_at.get(key) or _squash_applied_at(migration, applied_at),
                checksum_state=state,
                recorded_checksum=row.checksum if row else None,
                current_checksum=current,
                recorded_at=row.recorded_at if row else None,
            )
        )
    return statuses


def _squash_applied_at(migration: Migration | None, applied_at: dict[MigrationKey, dt.datetime]) -> dt.datetime | None:
    # A squashed migration applied through its replaced ones has no row of its own.
    if migration is None or not migration.replaces:
        return None
    times = [applied_at[tuple(key)] for key in migration.replaces if tuple(key) in applied_at]  # type: ignore[index]
    return max(times) if times else None


def pending_plan(executor: MigrationExecutor, *, app_label: str | None = None) -> list[PlanStep]:
    """What ``migrate`` (or ``migrate APP``) would apply, in order; refused where ``migrate`` would refuse."""
    loader = executor.loader
    if app_label is not None and app_label not in loader.migrated_apps:
        raise MigrationRefused(f"App '{app_label}' has no migrations.")
    try:
        loader.check_consistent_history(executor.connection)
    except InconsistentMigrationHistory as exc:
        raise MigrationRefused(str(exc)) from None
    conflicts = loader.detect_conflicts()
    if conflicts:
        names = "; ".join(f"{', '.join(sorted(leaves))} in {app}" for app, leaves in sorted(conflicts.items()))
        raise MigrationRefused(f"Conflicting migrations detected ({names}); merge them first.")
    return executor.migration_plan(loader.graph.leaf_nodes(app_label))


def _operations(operations: Iterable[Operation]) -> Iterator[Operation]:
    """Operations flattened through ``SeparateDatabaseAndState`` (its database side is what runs)."""
    for operation in operations:
        if isinstance(operation, SeparateDatabaseAndState):
            yield from _operations(operation.database_operations)
        else:
            yield operation


def irreversible_operations(migration: Migration) -> list[str]:
    """Descriptions of the operations of ``migration`` that cannot be unapplied."""
    return [
        f"operation {index} ({type(operation).__name__}: {operation.describe()})"
        for index, operation in enumerate(_operations(migration.operations), start=1)
        if not operation.reversible
    ]


def rollback_plan(loader: MigrationLoader, *, count: int = 1, app_label: str | None = None) -> list[PlanStep]:
    """The last ``count`` applied migrations (of ``app_label``, or of the project apps), newest first.

    Application order comes from ``django_migrations`` ids. The plan is refused,
    before anything runs, when a migration's file is missing, when an applied
    migration outside the selection depends on one in it, or when any step is
    irreversible.
    """
    if count < 1:
        raise MigrationRefused("The number of migrations to roll back must be at least 1.")
    if app_label is not None and app_label not in loader.migrated_apps:
        raise MigrationRefused(f"App '{app_label}' has no migrations.")
    if loader.connection is None:
        raise ValueError("rollback_plan needs a loader bound to a database connection")
    in_scope = {app_label} if app_label is not None else default_rollback_apps(loader)
    recorder = MigrationRecorder(loader.connection)
    rows = list(recorder.migration_qs.order_by("-id")) if recorder.has_table() else []
    squashes = replaced_by(loader)

    rank: dict[MigrationKey, int] = {}
    selected: list[MigrationKey] = []
    for row in rows:
        if len(selected) == count:
            break
        key: MigrationKey = (row.app, row.name)
        if key[0] not in in_scope:
            continue
        node = key if key in loader.graph.nodes else squashes.get(key)
        if node is None:
            raise MigrationRefused(f"Cannot roll back {key[0]}.{key[1]}: it is applied but its file is missing.")
        if node in rank:
            continue
        rank[node] = row.id
        selected.append(node)
    if len(selected) < count:
        scope = f"app '{app_label}'" if app_label else "the project apps (the infrastructure's need --app)"
        raise MigrationRefused(f"Only {len(selected)} applied migration(s) in {scope}; cannot roll back {count}.")

    applied = set(loader.applied_migrations)
    chosen = set(selected)
    for node in selected:
        dependents = [key for key in loader.graph.backwards_plan(node) if key in applied and key not in chosen]
        if dependents:
            names = ", ".join(f"{app}.{name}" for app, name in dependents)
            raise MigrationRefused(
                f"Cannot roll back {node[0]}.{node[1]}: applied migration(s) {names} depend on it; "
                "roll those back first (or widen the selection)."
            )

    # Unapply dependents before what they depend on; among independent ones, latest applied first.
    remaining = set(selected)
    ordered: list[MigrationKey] = []
    while remaining:
        ready = [node for node in remaining if not (set(loader.graph.backwards_plan(node)) - {node}) & remaining]
        node = max(ready, key=lambda key: rank[key])
        ordered.append(node)
        remaining.discard(node)

    plan = [(loader.graph.nodes[node], True) for node in ordered]
    refuse_irreversible(plan)
    return plan


def refuse_irreversible(plan: Iterable[PlanStep]) -> None:
    """Raise ``MigrationRefused`` naming every backwards step that cannot be unapplied."""
    problems = []
    for migration, backwards in plan:
        if backwards:
            problems += [
                f"{migration.app_label}.{migration.name} {operation}"
                for operation in irreversible_operations(migration)
            ]
    if problems:
        raise MigrationRefused(
            "Refusing to roll back: irreversible operation(s), nothing was changed:\n  " + "\n  ".join(problems)
        )


def step_sql(loader: MigrationLoader, migration: Migration, *, backwards: bool) -> list[str]:
    """The SQL one plan step would run, collected without executing it (like ``sqlmigrate``).

    Each step is computed from its own pre-state: ``MigrationLoader.collect_sql``
    chains states, which is wrong for a backwards plan longer than one step.
    """
    connection = loader.connection
    if connection is None:
        raise ValueError("step_sql needs a loader bound to a database connection")
    state = loader.project_state((migration.app_label, migration.name), at_end=False)
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
        if backwards:
            migration.unapply(state, editor, collect_sql=True)
        else:
            migration.apply(state, editor, collect_sql=True)
    statements = list(editor.collected_sql)
    if migration.atomic and connection.features.can_rollback_ddl:
        statements = ["BEGIN;", *statements, "COMMIT;"]
    return statements
