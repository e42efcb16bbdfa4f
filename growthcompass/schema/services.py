"""Writes: record checksums, apply, roll back, reset and create migrations."""

from __future__ import annotations

import importlib
import io
import os
import re
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import Any, TextIO, TypeAlias

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import OutputWrapper
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.migrations import Migration
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.writer import MigrationWriter
from django.db.models import NOT_PROVIDED
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from growthcompass.schema.checksums import file_checksum
from growthcompass.schema.discovery import is_project_app, migration_file
from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.models import MigrationChecksum
from growthcompass.schema.selectors import (
    MigrationKey,
    PlanStep,
    checksum_table_exists,
    pending_plan,
    project_migrated_apps,
    recorded_checksums,
    refuse_irreversible,
    rollback_plan,
)
from growthcompass.schema.timeouts import migration_timeouts

MIGRATION_NAME = re.compile(r"[a-z][a-z0-9_]*")

Output: TypeAlias = TextIO | OutputWrapper


def checksums_sync(*, using: str = DEFAULT_DB_ALIAS, plan: Iterable[PlanStep] = ()) -> int:
    """Bring the checksum table in line with ``django_migrations``; return rows written.

    Applied project migrations without a checksum get one from their file as it
    is now; migrations just applied by ``plan`` are re-hashed (a file may be
    edited while it is unapplied, and re-applying it makes that edit the new
    truth); checksums of migrations no longer applied are deleted. Existing
    checksums of applied migrations are never touched, so an edit made after
    applying stays detectable.
    """
    # A database the router keeps migrations off (a replica) gets its schema, checksums included, by replication.
    if not router.allow_migrate(using, MigrationChecksum._meta.app_label, model_name="migrationchecksum"):
        return 0
    connection = connections[using]
    if not checksum_table_exists(connection):
        return 0
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    applied = set(loader.applied_migrations)
    project_apps = project_migrated_apps(loader)
    just_applied = {(migration.app_label, migration.name) for migration, backwards in plan if not backwards}
    stored = recorded_checksums(connection)
    now = timezone.now()

    rows = []
    for key, migration in loader.disk_migrations.items():
        if key[0] not in project_apps or key not in applied:
            continue
        if key in stored and key not in just_applied:
            continue
        path = migration_file(migration)
        if path is not None:
            rows.append(MigrationChecksum(app=key[0], name=key[1], checksum=file_checksum(path), recorded_at=now))
    MigrationChecksum.objects.using(using).bulk_create(
        rows, update_conflicts=True, unique_fields=["app", "name"], update_fields=["checksum", "recorded_at"]
    )
    stale_ids = [row.pk for key, row in stored.items() if key not in applied]
    if stale_ids:
        MigrationChecksum.objects.using(using).filter(pk__in=stale_ids).delete()
    return len(rows)


class _ProgressWriter:
    """``MigrationExecutor`` progress callback that writes what ``migrate`` writes."""

    def __init__(self, stdout: Output, verbosity: int) -> None:
        self.stdout = stdout
        self.verbosity = verbosity

    def __call__(self, action: str, migration: Migration | None = None, fake: bool | None = False) -> None:
        if self.verbosity < 1 or migration is None:
            return
        if action in ("apply_start", "unapply_start"):
            verb = "Applying" if action == "apply_start" else "Unapplying"
            self._write(f"  {verb} {migration.app_label}.{migration.name}...", ending="")
            self.stdout.flush()
        elif action in ("apply_success", "unapply_success"):
            self._write(" OK")

    def _write(self, text: str, *, ending: str = "\n") -> None:
        if isinstance(self.stdout, OutputWrapper):
            self.stdout.write(text, ending=ending)
        else:
            self.stdout.write(text + ending)


def run_plan(*, executor: MigrationExecutor, plan: list[PlanStep], stdout: Output, verbosity: int = 1) -> None:
    """Run ``plan`` exactly as ``manage.py migrate`` runs its own plan.

    Same signals (``pre_migrate`` sets the lock timeout, ``post_migrate``
    records checksums and lets contenttypes/auth react) and the same final
    model state handed to ``post_migrate`` receivers.
    """
    connection = executor.connection
    for app_config in apps.get_app_configs():
        if module_has_submodule(app_config.module, "management"):
            import_module(".management", app_config.name)
    # The executor's private helper is what ``migrate`` itself uses for the pre-migrate state.
    pre_state = executor._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
    emit_pre_migrate_signal(verbosity, False, connection.alias, stdout=stdout, apps=pre_state.apps, plan=plan)
    executor.migrate([], plan=plan, state=pre_state.clone())
    # The executor derives its post-migrate state from the plan's last step,
    # assuming a plan in reverse order of the full forward plan; ours (reverse
    # order of application) need not be, so read the state back from the history.
    post_state = MigrationExecutor(connection)._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
    post_apps = post_state.apps
    with post_apps.bulk_update():
        model_keys = []
        for model_state in post_apps.real_models:
            model_key = model_state.app_label, model_state.name_lower
            model_keys.append(model_key)
            post_apps.unregister_model(*model_key)
    post_apps.render_multiple([ModelState.from_model(apps.get_model(*key)) for key in model_keys])
    emit_post_migrate_signal(verbosity, False, connection.alias, stdout=stdout, apps=post_apps, plan=plan)


def migrations_apply(
    *,
    using: str = DEFAULT_DB_ALIAS,
    app_label: str | None = None,
    lock_timeout_ms: int | None = None,
    stdout: Output | None = None,
    verbosity: int = 1,
) -> list[MigrationKey]:
    """Apply pending migrations (of ``app_label`` or all apps) through ``migrate``; return what was applied."""
    executor = MigrationExecutor(connections[using])
    plan = pending_plan(executor, app_label=app_label)
    args = [app_label] if app_label else []
    # migrate wraps its stdout in an OutputWrapper; handing it one already wrapped
    # would end its "Applying x..." progress lines early.
    out = stdout._out if isinstance(stdout, OutputWrapper) else stdout
    with migration_timeouts(using=using, lock_timeout_ms=lock_timeout_ms):
        call_command(
            "migrate", *args, database=using, interactive=False, verbosity=verbosity, stdout=out or io.StringIO()
        )
    return [(migration.app_label, migration.name) for migration, _ in plan]


def migrations_roll_back(
    *,
    using: str = DEFAULT_DB_ALIAS,
    count: int = 1,
    app_label: str | None = None,
    lock_timeout_ms: int | None = None,
    stdout: Output | None = None,
    verbosity: int = 1,
) -> list[MigrationKey]:
    """Unapply the last ``count`` applied migrations (see ``rollback_plan``); return them in the order undone."""
    out = stdout or io.StringIO()
    executor = MigrationExecutor(connections[using], _ProgressWriter(out, verbosity))
    plan = rollback_plan(executor.loader, count=count, app_label=app_label)
    with migration_timeouts(using=using, lock_timeout_ms=lock_timeout_ms):
        run_plan(executor=executor, plan=plan, stdout=out, verbosity=verbosity)
    return [(migration.app_label, migration.name) for migration, _ in plan]


def refuse_in_production() -> None:
    # Both the settings and the raw environment are consulted: either saying
    # production is enough to refuse a destructive development-only operation.
    from_settings = settings.DJANGO_ENV.lower()
    from_environment = os.environ.get("DJANGO_ENV", "").strip().lower()
    if "production" in (from_settings, from_environment):
        raise MigrationRefused("migrate_reset is refused when DJANGO_ENV=production, whatever the flags.")


def migrations_reset(
    *,
    using: str = DEFAULT_DB_ALIAS,
    lock_timeout_ms: int | None = None,
    stdout: Output | None = None,
    verbosity: int = 1,
) -> tuple[list[MigrationKey], list[MigrationKey]]:
    """Development only: unapply every migration of every app, then apply them all again.

    Every table a migration created is dropped with its data. Returns the
    migrations unapplied and those applied. Refused in production, and refused
    up front (nothing changed) when any applied migration is irreversible.
    """
    refuse_in_production()
    out = stdout or io.StringIO()
    executor = MigrationExecutor(connections[using], _ProgressWriter(out, verbosity))
    plan = executor.migration_plan([(app, None) for app in sorted(executor.loader.migrated_apps)])
    refuse_irreversible(plan)
    with migration_timeouts(using=using, lock_timeout_ms=lock_timeout_ms):
        if plan:
            run_plan(executor=executor, plan=plan, stdout=out, verbosity=verbosity)
        applied = migrations_apply(using=using, lock_timeout_ms=lock_timeout_ms, stdout=out, verbosity=verbosity)
    return [(migration.app_label, migration.name) for migration, _ in plan], applied


class _RefusingQuestioner(MigrationQuestioner):
    """Never prompts: refuses (instead of ``makemigrations``' ``sys.exit``) where a default is required."""

    def ask_not_null_addition(self, field_name: str, model_name: str) -> Any:
        raise MigrationRefused(
            f"Field '{field_name}' on model '{model_name}' is NOT NULL without a default; "
            "give it a default (or make it nullable) first."
        )

    def ask_auto_now_add_addition(self, field_name: str, model_name: str) -> Any:
        raise MigrationRefused(
            f"Field '{field_name}' on model '{model_name}' has auto_now_add=True; "
            "existing rows need a default, write this migration by hand (--empty)."
        )

    def ask_not_null_alteration(self, field_name: str, model_name: str) -> Any:
        # As makemigrations --noinput: no default; rows still NULL make the migration fail, not silently pass.
        return NOT_PROVIDED


def migration_create(*, app_label: str, name: str, empty: bool = False) -> list[Path]:
    """Write a new migration named ``name`` for ``app_label``; return the files written.

    Without ``empty`` the migration holds the app's model changes (refused when
    there are none); with ``empty`` it has no operations, for hand-written SQL.
    """
    if not MIGRATION_NAME.fullmatch(name):
        raise MigrationRefused(
            f"Migration name {name!r} must be lower-case letters, digits and underscores, starting with a letter."
        )
    try:
        app_config = apps.get_app_config(app_label)
    except LookupError:
        raise MigrationRefused(f"No installed app with label '{app_label}'.") from None
    if not is_project_app(app_config):
        raise MigrationRefused(f"App '{app_label}' is not one of the project's apps; its migrations are not ours.")

    loader = MigrationLoader(None, ignore_no_migrations=True)
    conflicts = loader.detect_conflicts()
    if app_label in conflicts:
        raise MigrationRefused(
            f"App '{app_label}' has conflicting leaf migrations ({', '.join(conflicts[app_label])}); "
            "merge them first (manage.py makemigrations --merge)."
        )
    questioner = _RefusingQuestioner(specified_apps={app_label}, dry_run=False)
    autodetector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps), questioner)
    if empty:
        changes = autodetector.arrange_for_graph(
            {app_label: [Migration("custom", app_label)]}, loader.graph, migration_name=name
        )
    else:
        changes = autodetector.changes(
            graph=loader.graph, trim_to_apps={app_label}, convert_apps={app_label}, migration_name=name
        )
        if not changes:
            raise MigrationRefused(f"No model changes in app '{app_label}'; use --empty for a hand-written migration.")
    writers = [MigrationWriter(migration) for migrations in changes.values() for migration in migrations]
    for writer in writers:
        if Path(writer.path).exists():
            raise MigrationRefused(f"{writer.path} already exists.")
    written = []
    for writer in writers:
        path = Path(writer.path)
        path.write_text(writer.as_string(), encoding="utf-8")
        written.append(path)
    # The next loader in this process must see the new module.
    importlib.invalidate_caches()
    return written
