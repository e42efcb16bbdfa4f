"""Roll back the last N applied migrations, newest first."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from growthcompass.command_arguments import bounded_int, text
from growthcompass.schema.commands import add_plan_arguments, check_lock_timeout, write_dry_run
from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.selectors import rollback_plan
from growthcompass.schema.services import migrations_roll_back


class Command(BaseCommand):
    help = (
        "Roll back the last N applied migrations (default 1) of the project apps (the infrastructure's own, such as "
        "the checksum table's, only with --app), or of --app, in reverse order "
        "of application. Refused, with nothing changed, when a step is irreversible, its file is missing, or an "
        "applied migration outside the selection depends on it. --dry-run prints the plan and its SQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "count", nargs="?", type=bounded_int(1, 1000), default=1, help="How many migrations (default 1)."
        )
        parser.add_argument(
            "--app", dest="app_label", type=text(100), help="Only this app's migrations (any installed app)."
        )
        add_plan_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["count"] < 1:
            raise CommandError("N must be at least 1.")
        check_lock_timeout(options)
        try:
            if options["dry_run"]:
                self._dry_run(options)
            else:
                self._roll_back(options)
        except MigrationRefused as exc:
            raise CommandError(str(exc)) from exc

    def _dry_run(self, options: dict[str, Any]) -> None:
        executor = MigrationExecutor(connections[options["database"]])
        plan = rollback_plan(executor.loader, count=options["count"], app_label=options["app_label"])
        write_dry_run(self, executor.loader, plan, backwards=True, as_json=options["json"])

    def _roll_back(self, options: dict[str, Any]) -> None:
        verbosity = 0 if options["json"] else options["verbosity"]
        undone = migrations_roll_back(
            using=options["database"],
            count=options["count"],
            app_label=options["app_label"],
            lock_timeout_ms=options["lock_timeout"],
            stdout=self.stdout,
            verbosity=verbosity,
        )
        if options["json"]:
            self.stdout.write(json.dumps({"unapplied": [f"{app}.{name}" for app, name in undone]}, indent=2))
        else:
            names = ", ".join(f"{app}.{name}" for app, name in undone)
            self.stdout.write(self.style.SUCCESS(f"Rolled back {len(undone)} migration(s): {names}."))
