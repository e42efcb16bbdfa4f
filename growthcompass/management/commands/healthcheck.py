"""Run every registered health check; exit non-zero, one line per failure, when any fails."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from growthcompass.command_arguments import bounded_float, text
from growthcompass.health import registered_checks
from growthcompass.health.parallel import run_checks_in_parallel


class Command(BaseCommand):
    help = (
        "Check the primary database (round trip), the replica when configured (and its lag), Redis, "
        "migrations, materialized-view staleness and whatever else is registered. Exits 0 when all pass; "
        "otherwise prints one line per failed check and exits 1. Checks run side by side and the whole "
        "run is bounded by --timeout, so a server that is down cannot make it hang."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print every result as JSON.")
        parser.add_argument(
            "--check",
            action="append",
            type=text(100),
            metavar="NAME",
            help="Run only this check (repeatable; default: all).",
        )
        parser.add_argument(
            "--timeout",
            type=bounded_float(0, 300, minimum_inclusive=False),
            default=5.0,
            metavar="SECONDS",
            help="Report checks still running after this long as failed (default 5).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        known = registered_checks()
        names = options["check"] or known
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(f"Unknown health check(s): {', '.join(unknown)}; known: {', '.join(known)}")
        if options["timeout"] <= 0:
            raise CommandError("--timeout must be a positive number of seconds.")

        results = run_checks_in_parallel(names, timeout_s=options["timeout"])
        failed = [result for result in results if not result.ok]
        if options["json"]:
            payload = {
                "ok": not failed,
                "checks": [
                    {
                        "name": r.name,
                        "ok": r.ok,
                        "detail": r.detail,
                        "duration_ms": round(r.duration_ms, 3),
                        "data": r.data,
                    }
                    for r in results
                ],
            }
            self.stdout.write(json.dumps(payload, indent=2, default=str))
        else:
            for result in failed:
                self.stdout.write(f"FAIL {result.name}: {result.detail}")
            if options["verbosity"] > 1 or not failed:
                for result in results:
                    if result.ok:
                        self.stdout.write(f"ok   {result.name}: {result.detail} [{result.duration_ms:.0f} ms]")
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} health checks failed", returncode=1)
