"""``manage.py wait_for_db``: block until the database answers, for start-up scripts and containers."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from growthcompass.command_arguments import bounded_float, database_alias
from growthcompass.db.retry import wait_for_database


class Command(BaseCommand):
    # It runs before the database is up: no system check may need it.
    requires_system_checks: list[str] = []
    help = (
        "Wait until the database accepts connections, retrying with exponential backoff and jitter; "
        "exits non-zero when it has not answered within --timeout seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--timeout", type=bounded_float(0, 86_400), default=30.0, help="seconds to keep trying (default 30)"
        )
        parser.add_argument(
            "--database",
            type=database_alias,
            default=DEFAULT_DB_ALIAS,
            help=f"database alias to wait for (default {DEFAULT_DB_ALIAS!r})",
        )
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")

    def handle(self, **options: Any) -> None:
        alias: str = options["database"]
        timeout: float = options["timeout"]
        as_json: bool = options["json"]
        if alias not in connections.settings:
            raise CommandError(f"unknown database alias {alias!r}; configured: {', '.join(connections.settings)}")
        if timeout < 0:
            raise CommandError(f"--timeout must be zero or more seconds; got {timeout}")

        def report_retry(attempt: int, delay: float, error: str) -> None:
            if not as_json and options["verbosity"] >= 1:
                self.stderr.write(f"database {alias!r} not ready (attempt {attempt}: {error}); retry in {delay:.2f} s")

        result = wait_for_database(alias, timeout=timeout, on_retry=report_retry)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "database": alias,
                        "ok": result.ok,
                        "attempts": result.attempts,
                        "elapsed_s": round(result.elapsed_s, 3),
                        "error": result.error,
                    }
                )
            )
        if not result.ok:
            raise CommandError(
                f"database {alias!r} did not answer within {timeout:g} s ({result.attempts} attempts); "
                f"last error: {result.error}"
            )
        if not as_json:
            self.stdout.write(
                f"database {alias!r} is ready (after {result.attempts} attempt(s), {result.elapsed_s:.2f} s)"
            )
