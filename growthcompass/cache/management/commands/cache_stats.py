"""Report cache statistics summed over every process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from growthcompass.cache import get_store
from growthcompass.cache.report import statistics_lines


class Command(BaseCommand):
    help = (
        "Cache statistics summed over every process: reads, hits (Redis and in-process), misses and hit rate "
        "per key family, stores refused by the invalidation race guard, reads that bypassed an unavailable "
        "Redis, invalidations and errors; plus Redis's memory use, whether it is connected, and the live "
        "invalidation listeners."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the statistics as JSON.")
        parser.add_argument("--reset", action="store_true", help="After reporting, set the shared counters to zero.")

    def handle(self, *args: Any, **options: Any) -> None:
        store = get_store()
        stats = store.statistics()
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2, sort_keys=True))
        else:
            self._print_table(stats)
        if options["reset"]:
            try:
                store.reset_statistics()
            except RedisError as exc:
                raise CommandError(f"Could not reset the counters, Redis is unavailable: {exc}") from exc
            if not options["json"]:
                self.stdout.write("Counters reset.")

    def _print_table(self, stats: dict[str, Any]) -> None:
        styles: dict[str, Callable[[str], str]] = {
            "": str,
            "warning": self.style.WARNING,
            "error": self.style.ERROR,
        }
        for line, level in statistics_lines(stats):
            self.stdout.write(styles[level](line))
