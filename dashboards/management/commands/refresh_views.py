"""Refresh the materialized views (all, or the ones named) and say how long each took."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboards.models import ViewRefresh
from dashboards.refresh import MATERIALIZED_VIEWS, RefreshAlreadyRunning, RefreshResult, materialized_view_refresh
from growthcompass.command_arguments import bounded_float
from growthcompass.rls import rls_system_context


class Command(BaseCommand):
    help = (
        "Refresh materialized views, printing each one's duration and row count. Refreshes are concurrent "
        "(readers never blocked) unless --no-concurrently. Only one refresh of a view runs at a time: a second "
        "one exits with a message, or with --wait queues behind the first. Every refresh is recorded in "
        "view_refreshes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--view",
            action="append",
            choices=sorted(MATERIALIZED_VIEWS),
            help="A view to refresh (repeatable; default: all).",
        )
        how = parser.add_mutually_exclusive_group()
        how.add_argument(
            "--concurrently",
            action="store_true",
            default=True,
            help="REFRESH ... CONCURRENTLY (the default): readers are never blocked.",
        )
        how.add_argument(
            "--no-concurrently",
            dest="concurrently",
            action="store_false",
            help="A plain refresh, which blocks readers but is faster.",
        )
        parser.add_argument(
            "--wait", action="store_true", help="Wait for a refresh already running instead of exiting."
        )
        parser.add_argument(
            "--wait-timeout",
            type=bounded_float(0, 86_400, minimum_inclusive=False),
            metavar="SECONDS",
            help="With --wait, give up after this long.",
        )
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["wait_timeout"] is not None and options["wait_timeout"] <= 0:
            raise CommandError("--wait-timeout must be a positive number of seconds.")
        if options["wait_timeout"] is not None and not options["wait"]:
            raise CommandError("--wait-timeout only applies with --wait; add --wait or drop --wait-timeout.")
        # Reads and maintains domain data: a declared system scope, never the fallback.
        with rls_system_context(reason="manage.py refresh_views"):
            self._handle(**options)

    def _handle(self, **options: Any) -> None:
        views = options["view"] or list(MATERIALIZED_VIEWS)
        results: list[RefreshResult] = []
        for view in views:
            try:
                result = materialized_view_refresh(
                    view=view,
                    concurrently=options["concurrently"],
                    wait=options["wait"],
                    wait_timeout_s=options["wait_timeout"],
                    source=ViewRefresh.Source.COMMAND,
                )
            except RefreshAlreadyRunning as exc:
                raise CommandError(str(exc)) from exc
            results.append(result)
            if not options["json"]:
                how = "concurrently" if result.concurrent else "plain"
                self.stdout.write(f"{view}: refreshed ({how}) in {result.duration_ms:.1f} ms, {result.row_count} rows")
        if options["json"]:
            self.stdout.write(json.dumps([r.as_dict() for r in results], indent=2))

