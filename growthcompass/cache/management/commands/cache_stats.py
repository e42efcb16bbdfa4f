"""Report cache statistics summed over every process."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from growthcompass.cache import get_store

_COLUMNS = ("reads", "hits", "local_hits", "misses", "hit_rate", "stores", "refused", "bypassed", "waits")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return str(value)


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
        redis_state = stats["redis"]
        if redis_state["connected"]:
            self.stdout.write(
                f"Redis: connected, ping {redis_state['ping_ms']:.2f} ms, {redis_state['used_memory_human']} used "
                f"(maxmemory-policy {redis_state['maxmemory_policy']}); key prefix {stats['key_prefix']}"
            )
        else:
            self.stdout.write(self.style.ERROR(f"Redis: NOT connected ({redis_state.get('error', '')})"))
        listeners = stats["listeners"]
        line = f"Invalidation listeners alive: {len(listeners)}" + (f" ({', '.join(listeners)})" if listeners else "")
        self.stdout.write(line if listeners else self.style.WARNING(line + " -- raw SQL writes wait for one"))
        header = ("family", *_COLUMNS, "invalidations", "errors")
        rows = [
            (name, *(_cell(row[c]) for c in _COLUMNS), _cell(row["invalidations"]), _cell(row["errors"]))
            for name, row in stats["families"].items()
        ]
        totals = stats["totals"]
        rows.append(
            ("total", *(_cell(totals[c]) for c in _COLUMNS), _cell(totals["invalidations"]), _cell(totals["errors"]))
        )
        widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
        for r in (header, *rows):
            self.stdout.write(
                "  ".join(
                    str(v).ljust(w) if i == 0 else str(v).rjust(w)
                    for i, (v, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        process = stats["process"]
        if process["skipping_redis"] or process["pending_invalidations"]:
            self.stdout.write(
                self.style.WARNING(
                    f"This process: skipping Redis={process['skipping_redis']}, "
                    f"pending invalidations={process['pending_invalidations']}"
                )
            )
