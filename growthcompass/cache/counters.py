"""This process's cache counts: what the store counts on its read path and ``stats`` reports.

Counting a read must not cost a round trip, so each process counts in memory
and the store adds its counts to one shared Redis hash now and then (see
``CacheStore.flush_stats``). Counting takes no lock on the read path; under
heavy thread contention an increment can be lost now and then, which a
statistic can afford.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

__all__ = [
    "BYPASSED",
    "ERRORS",
    "FIELDS",
    "GLOBAL",
    "HITS",
    "INVALIDATIONS",
    "LOCAL_HITS",
    "MISSES",
    "REFUSED",
    "STORES",
    "WAITS",
    "Counters",
]

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
