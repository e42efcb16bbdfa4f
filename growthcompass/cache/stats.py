"""Cache statistics: every process's counts, summed, with Redis's state (``cache_stats``).

Each process counts in memory (``growthcompass.cache.counters``) and adds its
counts to one Redis hash (``<prefix>~stats``) with a single pipelined
``HINCRBY`` batch at most once per ``CACHE_STATS_FLUSH_INTERVAL_S`` (and when
it exits, and before ``cache_stats`` reports). Counts that could not be
flushed (Redis down) are kept and added later.

This module knows the store only through ``StatsSource``, so the store can
report through it without the two importing each other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

from redis.exceptions import RedisError

from growthcompass.cache.counters import FIELDS, GLOBAL, Counters
from growthcompass.cache.local import LocalTier

__all__ = ["TABLE_PREFIX", "StatsSource", "collect", "summarise"]

TABLE_PREFIX = "table:"


class StatsSource(Protocol):
    """What ``collect`` reads from a store."""

    prefix: str
    counters: Counters
    local: LocalTier | None

    @property
    def skipping_redis(self) -> bool: ...

    @property
    def pending_invalidations(self) -> int: ...

    def flush_stats(self) -> bool: ...

    def ping(self) -> dict[str, Any]: ...

    def shared_counts(self) -> dict[str, int]: ...

    def live_listeners(self) -> list[str]: ...


def summarise(raw: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Turn ``{"family|field": n}`` into per-family rows with a hit rate."""
    families: dict[str, dict[str, Any]] = {}
    for field, value in raw.items():
        family, _, name = field.partition("|")
        if name not in FIELDS:
            continue
        row = families.setdefault(family, dict.fromkeys(FIELDS, 0))
        row[name] += int(value)
    for row in families.values():
        served = row["hits"] + row["local_hits"]
        reads = served + row["misses"] + row["bypassed"]
        row["reads"] = reads
        row["hit_rate"] = round(served / reads, 4) if reads else None
    return dict(sorted(families.items()))


def collect(store: StatsSource) -> dict[str, Any]:
    """Counts summed over every process (``store``'s unflushed ones included), and Redis's state."""
    store.flush_stats()
    redis_state = store.ping()
    raw: dict[str, int] = {}
    listeners: list[str] = []
    if redis_state["connected"]:
        try:
            raw = store.shared_counts()
            listeners = store.live_listeners()
        except RedisError as exc:
            redis_state = {"connected": False, "error": f"{type(exc).__name__}: {exc}"}
    for field, value in store.counters.peek().items():
        raw[field] = raw.get(field, 0) + value
    summary = summarise(raw)
    # Cached querysets count per table (``table:<name>``): a read counts once for each table it read,
    # so those rows stand apart and stay out of the totals.
    families = {name: row for name, row in summary.items() if not name.startswith(TABLE_PREFIX)}
    tables = {name[len(TABLE_PREFIX) :]: row for name, row in summary.items() if name.startswith(TABLE_PREFIX)}
    totals: dict[str, Any] = dict.fromkeys((*FIELDS, "reads"), 0)
    for row in families.values():
        for name in (*FIELDS, "reads"):
            totals[name] += row[name]
    served = totals["hits"] + totals["local_hits"]
    totals["hit_rate"] = round(served / totals["reads"], 4) if totals["reads"] else None
    local = store.local
    return {
        "redis": redis_state,
        "key_prefix": store.prefix,
        "families": {name: row for name, row in families.items() if name != GLOBAL},
        "totals": totals,
        "tables": tables,
        "listeners": listeners,
        "process": {
            "pid": os.getpid(),
            "local_tier": None
            if local is None
            else {"ready": local.ready, "entries": len(local), "max_entries": local.max_entries},
            "skipping_redis": store.skipping_redis,
            "pending_invalidations": store.pending_invalidations,
        },
    }
