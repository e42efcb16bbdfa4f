"""``manage.py partitions_maintain [--dry-run] [--json]``: partitions ahead, DEFAULT partitions emptied."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError

from growthcompass.partitions.config import refused_for_lock
from growthcompass.partitions.maintenance import MaintenanceResult, partitions_maintain
from growthcompass.rls import rls_system_context


class Command(BaseCommand):
    help = (
        "Create the partitions of the current month and the PARTITIONS_AHEAD months after it, and move rows "
        "waiting in DEFAULT partitions into partitions created for them. Idempotent; safe to run from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be created; change nothing.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, **options: Any) -> None:
        try:
            # Moving rows out of a DEFAULT partition reads and writes them: a declared system scope.
            with rls_system_context(reason="manage.py partitions_maintain"):
                result = partitions_maintain(dry_run=options["dry_run"])
        except OperationalError as exc:
            refusal = refused_for_lock(exc, what="a partitioned table")
            if refusal:
                raise CommandError(refusal) from exc
            raise
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self._report(result)

    def _report(self, result: MaintenanceResult) -> None:
        if not result.ran:
            self.stdout.write("Another partitions_maintain is running; nothing done.")
            return
        verb = "Would create" if result.dry_run else "Created"
        for plan in result.tables:
            if not plan.partitioned:
                self.stdout.write(f"{plan.table}: not partitioned (run migrate); skipped.")
                continue
            for planned in plan.create:
                moved = (
                    f", {planned.rows_from_default} rows from the DEFAULT partition"
                    if planned.rows_from_default
                    else ""
                )
                self.stdout.write(f"{verb} {planned.name} [{planned.lower:%Y-%m-%d}, {planned.upper:%Y-%m-%d}){moved}.")
            if plan.left_in_default:
                self.stdout.write(
                    self.style.WARNING(
                        f"{plan.table}: {plan.left_in_default} rows in the DEFAULT partition are older than retention "
                        f"(before {plan.retention_start:%Y-%m}); no partition created for them."
                    )
                )
        if result.created == 0:
            self.stdout.write("Partitions are current; nothing to do.")
