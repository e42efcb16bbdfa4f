"""``manage.py audit_prune --before DATE [--dry-run]``: the retention command for audit_log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from auditing.commands import add_as_user_argument, audit_context_from_options
from auditing.services import PruneRefused, audit_log_prune


def parse_cutoff(value: str) -> dt.datetime:
    """``YYYY-MM-DD`` (midnight, current time zone) or an ISO datetime (naive means current time zone)."""
    parsed: dt.datetime | None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = dt.datetime.combine(day, dt.time.min) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--before must be a date (YYYY-MM-DD) or an ISO datetime; got {value!r}.")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(BaseCommand):
    help = (
        "Delete audit log entries written before --before, in one transaction; the deletion is itself "
        "recorded in the audit log. The only way past the log's append-only protection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", required=True, help="Cut-off: YYYY-MM-DD or an ISO datetime (exclusive).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--reason", help="Why, stored with the record of the prune.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        add_as_user_argument(parser)

    def handle(self, **options: Any) -> None:
        before = parse_cutoff(options["before"])
        with audit_context_from_options(options, command="audit_prune", reason=options.get("reason")):
            try:
                result = audit_log_prune(before=before, dry_run=options["dry_run"])
            except PruneRefused as exc:
                raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        tables = ", ".join(f"{table}: {rows}" for table, rows in result.by_table.items()) or "none"
        cutoff = f"{before:%Y-%m-%d %H:%M %Z}"
        if result.dry_run:
            self.stdout.write(f"Would delete {result.rows} audit log entries before {cutoff} ({tables}).")
        elif result.rows == 0:
            self.stdout.write(f"No audit log entries before {cutoff}; nothing deleted.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Deleted {result.rows} audit log entries before {cutoff} ({tables}); "
                    f"recorded as audit log entry #{result.record_id}."
                )
            )
