"""Apply pending migrations, or print the plan and its SQL without touching the database."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from growthcompass.command_arguments import text
from growthcompass.schema.commands import add_plan_arguments, check_lock_timeout, write_dry_run
from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.selectors import pending_plan
from growthcompass.schema.services import migrations_apply


class Command(BaseCommand):
    help = (
        "Apply pending migrations (all apps, or --app). Runs manage.py migrate with a lock_timeout, so a "
        "migration blocked by live traffic fails fast; checksums of applied migrations are recorded. "
        "--dry-run prints the plan and the SQL of each step and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app",
            dest="app_label",
            type=text(100),
            help="Only this app's pending migrations (and their dependencies).",
        )
        add_plan_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        check_lock_timeout(options)
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
        write_dry_run(self, executor.loader, plan, backwards=False, as_json=options["json"])

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
