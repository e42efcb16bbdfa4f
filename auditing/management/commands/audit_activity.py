"""``manage.py audit_activity --user ID|USERNAME [--days 30] [--json]``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditing.commands import resolve_user
from auditing.selectors import user_activity_summary
from growthcompass.command_arguments import bounded_int, text
from growthcompass.rls import rls_system_context

# A century: far beyond any audit log, and far inside PostgreSQL's timestamp range.
MAX_DAYS = 36_500


class Command(BaseCommand):
    help = "What a user changed in the last N days, per table and operation (from the audit log)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", type=text(150), required=True, metavar="ID|USERNAME", help="The acting user.")
        parser.add_argument(
            "--days",
            type=bounded_int(1, MAX_DAYS),
            default=30,
            help=f"Window in days (default 30, at most {MAX_DAYS}).",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, **options: Any) -> None:
        if not 1 <= options["days"] <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS}; got {options['days']}.")
        # Reads and maintains domain data: a declared system scope, never the fallback.
        with rls_system_context(reason="manage.py audit_activity"):
            self._handle(**options)

    def _handle(self, **options: Any) -> None:
        user = resolve_user(options["user"])
        rows = user_activity_summary(user_id=int(user.pk), days=options["days"])
        if options["json"]:
            payload = {
                "user_id": user.pk,
                "username": user.get_username(),
                "days": options["days"],
                "activity": [row.as_dict() for row in rows],
            }
            self.stdout.write(json.dumps(payload, indent=2))
            return
        heading = f"Changes by {user.get_username()} (id {user.pk}) in the last {options['days']} days"
        if not rows:
            self.stdout.write(f"{heading}: none.")
            return
        self.stdout.write(f"{heading}:")
        header = ("table", "operation", "changes", "first change", "last change")
        lines = [header] + [
            (
                row.table_name,
                row.operation,
                str(row.changes),
                f"{row.first_change:%Y-%m-%d %H:%M:%S}",
                f"{row.last_change:%Y-%m-%d %H:%M:%S}",
            )
            for row in rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())

