"""Cache statistics: counted in each process, summed across processes in Redis.

Counting a read must not cost a round trip, so each process counts in memory
and adds its counts to one Redis hash (``<prefix>~stats``) with a single
pipelined ``HINCRBY`` batch at most once per ``CACHE_STATS_FLUSH_INTERVAL_S``
(and when it exits, and before ``cache_stats`` reports). Counts that could not
be flushed (Redis down) are kept and added later.

Counting takes no lock on the read path; under heavy thread contention an
increment can be lost now and then, which a statistic can afford.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from growthcompass.cache.store import CacheStore

# Indexes into a family's counter list.
HITS = 0  # served from Redis
LOCAL_HITS = 1  # served from the in-process tier
MISSES = 2  # not in the cache: loaded from PostgreSQL
STORES = 3  # loaded values stored in Redis
REFUSED = 4  # loaded values not stored: an invalidation raced the load
BYPASSED = 5  # Redis unavailable: read straight from PostgreSQL
WAITS = 6  # a concurrent miss waited for another reader's value
ERRORS = 7  # Redis errors
INVALIDATIONS = 8  # entries invalidated (a family flush counts once)

FIELDS: tuple[str, ...] = (
    "hits",
    "local_hits",
    "misses",
    "stores",
    "refused",
    "bypassed",
    "waits",
    "errors",
    "invalidations",
)
# Counts not tied to one family (Redis errors outside a read, listener events).
GLOBAL = "_all"


class Counters:
    """This process's not-yet-flushed counts, per family."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def of(self, family: str) -> list[int]:
        counts = self._counts.get(family)
        if counts is None:
            with self._lock:
                counts = self._counts.setdefault(family, [0] * len(FIELDS))
        return counts

    def add(self, family: str, index: int, amount: int = 1) -> None:
        self.of(family)[index] += amount

    def take(self) -> dict[str, int]:
        """Remove and return the pending counts as ``{"family|field": n}`` (non-zero only)."""
        taken: dict[str, int] = {}
        with self._lock:
            for family, counts in self._counts.items():
                for index, name in enumerate(FIELDS):
                    value = counts[index]
                    if value:
                        counts[index] -= value
                        taken[f"{family}|{name}"] = value
        return taken

    def give_back(self, taken: Mapping[str, int]) -> None:
        """Put counts whose flush failed back, to be flushed later."""
        for field, value in taken.items():
            family, name = field.split("|", 1)
            self.add(family, FIELDS.index(name), value)

    def peek(self) -> dict[str, int]:
        return {
            f"{family}|{name}": counts[index]
            for family, counts in list(self._counts.items())
            for index, name in enumerate(FIELDS)
            if counts[index]
        }


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


def collect(store: CacheStore) -> dict[str, Any]:
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
    families = summarise(raw)
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
