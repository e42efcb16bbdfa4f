"""Report query metrics: totals, the busiest and slowest statements, pools, plans."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from growthcompass.command_arguments import bounded_float, bounded_int
from growthcompass.db.monitoring.report import collect_query_report, report_as_dict, report_as_text
from growthcompass.plans.selectors import captured_plans, plans_as_dicts, plans_as_text


class Command(BaseCommand):
    help = (
        "Query metrics of every process that publishes them (and this one): totals, mean and p95 time, the "
        "statements that took the most time and the slowest ones, connection pool statistics, and the top "
        "statements from pg_stat_statements where that extension is available. --explain adds EXPLAIN "
        "(FORMAT JSON) plans of the top statements, flagging sequential scans of large tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--slow-ms",
            type=bounded_float(0, 3_600_000),
            metavar="N",
            help="Slow-statement threshold in ms (default SLOW_QUERY_MS).",
        )
        parser.add_argument(
            "--top",
            type=bounded_int(1, 1000),
            default=10,
            metavar="K",
            help="How many statements to list (default 10).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--explain", action="store_true", help="EXPLAIN the top statements (never ones that write)."
        )
        parser.add_argument(
            "--analyze",
            action="store_true",
            help="With --explain, EXPLAIN ANALYZE statements without parameters, in a rolled-back read-only "
            "transaction (implies --explain).",
        )
        # --reset clears the published metrics in Redis, which --local does not read.
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--local", action="store_true", help="Only this process's metrics; skip Redis.")
        scope.add_argument("--reset", action="store_true", help="After reporting, clear the published metrics.")
        parser.add_argument(
            "--plans", action="store_true", help="Also list the plans captured automatically for slow statements."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["local"] and options["reset"]:
            raise CommandError("--local and --reset cannot be combined: --local does not read the published metrics.")
        top = options["top"]
        if top < 1:
            raise CommandError("--top must be at least 1.")
        slow_ms = settings.SLOW_QUERY_MS if options["slow_ms"] is None else options["slow_ms"]
        if slow_ms < 0:
            raise CommandError("--slow-ms must not be negative.")
        report = collect_query_report(
            top=top,
            slow_ms=slow_ms,
            local=options["local"],
            explain=options["explain"],
            analyze=options["analyze"],
            reset=options["reset"],
        )
        if options["json"]:
            data = report_as_dict(report)
            if options["plans"]:
                data["captured_plans"] = plans_as_dicts(captured_plans(limit=top))
            self.stdout.write(json.dumps(data, indent=2))
        else:
            self.stdout.write(report_as_text(report))
            if options["plans"]:
                self.stdout.write(plans_as_text(captured_plans(limit=top)))
