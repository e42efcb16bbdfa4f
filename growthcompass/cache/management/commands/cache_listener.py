"""Run the cache invalidation listener until stopped."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from growthcompass.cache import run_as_dedicated_listener
from growthcompass.cache.listener import CHANNEL, InvalidationListener
from growthcompass.cache.messages import Invalidation, format_message
from growthcompass.cache.warming import Rewarmer
from growthcompass.command_arguments import bounded_float


class Command(BaseCommand):
    help = (
        "LISTEN for the database triggers' invalidation notices and delete the cache entries they name, so "
        "writes that bypass the ORM's signals (bulk_create, bulk_update, queryset.update(), raw SQL, psql) "
        "invalidate too. Reconnects with backoff; every (re)connection starts by invalidating everything, "
        "since notices sent while nobody listened are lost. Stop with Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backoff-max",
            type=bounded_float(0, 3600, minimum_inclusive=False),
            default=10.0,
            metavar="SECONDS",
            help="Longest pause between reconnection attempts (default 10).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run_as_dedicated_listener()
        verbosity = int(options["verbosity"])
        # Declared queries with rewarm=True are reloaded soon after a write deleted them.
        rewarmer = Rewarmer(delay_s=settings.CACHE_REWARM_DELAY_S).start() if settings.CACHE_REWARM else None
        listener = InvalidationListener(
            on_tables=rewarmer.tables_moved if rewarmer is not None else None,
            backoff_max_s=options["backoff_max"],
            on_ready=lambda lst: self.stdout.write(
                f"Listening on {CHANNEL} (backend pid {lst.backend_pid}); every entry invalidated on connect."
            ),
            on_batch=self._report if verbosity >= 2 else None,
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            listener.stop()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            listener.run()
        except KeyboardInterrupt:
            listener.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
            if rewarmer is not None:
                rewarmer.stop()
        self.stdout.write(
            f"Stopped after {listener.notifications} notification(s) over {listener.connections} connection(s)."
        )

    def _report(self, invalidation: Invalidation, notifications: int) -> None:
        self.stdout.write(f"{notifications} notification(s): {format_message(invalidation)}")
