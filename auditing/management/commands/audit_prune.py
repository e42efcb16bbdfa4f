"""``manage.py audit_prune --before DATE [--dry-run]``: the retention command for audit_log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from auditing.commands import add_as_user_argument, audit_context_from_options
from auditing.services import PruneRefused, PruneResult, audit_log_prune, moment_text
from growthcompass.command_arguments import text
from growthcompass.partitions.config import refused_for_lock


def parse_cutoff(value: str) -> dt.datetime:
    """``YYYY-MM-DD`` (midnight, current time zone) or an ISO datetime (naive means current time zone)."""
    parsed: dt.datetime | None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = dt.datetime.combine(day, dt.time.min) if day else None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise CommandError(f"--before must be a date (YYYY-MM-DD) or an ISO datetime; got {value[:40]!r}.")
    return parsed


class Command(BaseCommand):
    help = (
        "Remove the audit log entries of the whole months before --before, in one transaction: monthly partitions "
        "are dropped (or detached, AUDIT_PRUNE_PARTITIONS) whole; what went is recorded in the audit log. "
        "The only way past the log's append-only protection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            required=True,
            type=text(64),
            help="Cut-off: YYYY-MM-DD or an ISO datetime (exclusive); inside a month, the month's start applies.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; remove nothing.")
        parser.add_argument("--reason", type=text(500), help="Why, stored with the record of the prune.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        add_as_user_argument(parser)

    def handle(self, **options: Any) -> None:
        before = parse_cutoff(options["before"])
        with audit_context_from_options(options, command="audit_prune", reason=options.get("reason")):
            try:
                result = audit_log_prune(before=before, dry_run=options["dry_run"])
            except PruneRefused as exc:
                raise CommandError(str(exc)) from exc
            except OperationalError as exc:
                refusal = refused_for_lock(exc, what="audit_log")
                if refusal:
                    raise CommandError(refusal) from exc
                raise
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self._report(result)

    def _report(self, result: PruneResult) -> None:
        cutoff = result.cutoff or result.before
        if result.inside_month:
            self.stdout.write(
                f"--before {moment_text(result.before)} is inside a month: only whole months go, "
                f"so entries before {moment_text(cutoff)} are removed."
            )
        tables = ", ".join(f"{table}: {rows}" for table, rows in result.by_table.items()) or "none"
        names = ", ".join(partition.name for partition in result.partitions)
        verb = "dropped" if result.mode == "drop" else "detached"
        parts = f"; partitions {verb}: {names}" if names else ""
        if result.dry_run:
            self.stdout.write(
                f"Would remove {result.rows} audit log entries before {moment_text(cutoff)} ({tables})"
                + (f"; partitions to be {verb}: {names}" if names else "")
                + "."
            )
        elif result.rows == 0 and not result.partitions:
            self.stdout.write(f"No audit log entries before {moment_text(cutoff)}; nothing removed.")
        else:
            records = ", ".join(f"#{record}" for record in result.record_ids)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Removed {result.rows} audit log entries before {moment_text(cutoff)} ({tables}){parts}; "
                    f"recorded as audit log entry {records}."
                )
            )
