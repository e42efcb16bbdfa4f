"""Invalidations that could not reach Redis, kept and replayed before this process reads from Redis again.

An invalidation lost while Redis was away would leave its entries stale once
Redis is back, so the store keeps every failed one (merged into one) and
replays it before its next Redis read. Past ``PENDING_LIMIT`` ids the
replay invalidates everything instead: cheaper than an unbounded list, and
just as correct.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from growthcompass.cache import messages
from growthcompass.cache.breaker import RedisBreaker
from growthcompass.cache.messages import EVERYTHING, Invalidation, merge_into

__all__ = ["PENDING_LIMIT", "PendingInvalidations"]

# Past this many pending (unapplied) ids, a replay flushes everything instead.
PENDING_LIMIT = 10_000


class PendingInvalidations:
    """The failed invalidations of one store, merged; ``queued`` is empty when none is left."""

    def __init__(self) -> None:
        # The store's read path tests its truth without the lock (atomic under
        # the GIL); a replay that finds it empty costs nothing more.
        self.queued: Invalidation = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many entries are waiting (a whole family counts once)."""
        return messages.size(self.queued)

    def defer(self, invalidation: Mapping[str, frozenset[int] | None]) -> None:
        with self._lock:
            merge_into(self.queued, invalidation)
            if messages.size(self.queued) > PENDING_LIMIT:
                self.queued = {EVERYTHING: None}

    def replay(self, invalidate: Callable[[Invalidation], bool], breaker: RedisBreaker) -> bool:
        """Apply what is waiting with ``invalidate`` unless Redis is being skipped; True when none is left.

        ``invalidate`` defers again what fails, so nothing is lost.
        """
        with self._lock:
            pending, self.queued = self.queued, {}
        if not pending:
            return True
        if breaker.skipping:
            self.defer(pending)
            return False
        return invalidate(pending)
