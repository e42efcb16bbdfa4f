"""Apply pending migrations, or print the plan and its SQL without touching the database."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.selectors import pending_plan, step_sql
from growthcompass.schema.services import migrations_apply


class Command(BaseCommand):
    help = (
        "Apply pending migrations (all apps, or --app). Runs manage.py migrate with a lock_timeout, so a "
        "migration blocked by live traffic fails fast; checksums of applied migrations are recorded. "
        "--dry-run prints the plan and the SQL of each step and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app", dest="app_label", help="Only this app's pending migrations (and their dependencies)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print the plan and its SQL; change nothing.")
        parser.add_argument(
            "--lock-timeout", type=int, metavar="MS", help="lock_timeout in milliseconds (default 5000)."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["lock_timeout"] is not None and options["lock_timeout"] < 0:
            raise CommandError("--lock-timeout must be 0 (no limit) or a positive number of milliseconds.")
        try:
            if options["dry_run"]:
                self._dry_run(options)
            else:
                self._apply(options)
        except MigrationRefused as exc:
            raise CommandError(str(exc)) from exc

    def _dry_run(self, options: dict[str, Any]) -> None:
        executor = MigrationExecutor(connections[options["database"]])
        plan = pending_plan(executor, app_label=options["app_label"])
        steps = [
            {"app": m.app_label, "name": m.name, "sql": step_sql(executor.loader, m, backwards=False)} for m, _ in plan
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"dry_run": True, "plan": steps}, indent=2))
            return
        if not steps:
            self.stdout.write("No pending migrations.")
            return
        self.stdout.write(f"Dry run: {len(steps)} migration(s) would be applied, in this order. Nothing was changed.")
        for step in steps:
            self.stdout.write(self.style.MIGRATE_HEADING(f"Apply {step['app']}.{step['name']}"))
            for statement in step["sql"]:
                self.stdout.write(f"    {statement}")

    def _apply(self, options: dict[str, Any]) -> None:
        verbosity = 0 if options["json"] else options["verbosity"]
        applied = migrations_apply(
            using=options["database"],
            app_label=options["app_label"],
            lock_timeout_ms=options["lock_timeout"],
            stdout=self.stdout,
            verbosity=verbosity,
        )
        if options["json"]:
            self.stdout.write(json.dumps({"applied": [f"{app}.{name}" for app, name in applied]}, indent=2))
        else:
            self.stdout.write(self.style.SUCCESS(f"Applied {len(applied)} migration(s); checksums recorded."))
