"""Warming declared cached querysets: ``manage.py cache_warm`` loads each one's listed parameter sets.

A declared query (``growthcompass.cache.querysets.declare(..., warm=[{...}])``)
names the parameter sets worth having in the cache before the first reader
asks -- after a deploy, a Redis restart, or a bulk load that moved its tables.
Warming reads through the cache like any reader: an entry already there is
left alone, a missing one is loaded once (the stampede lock) and stored
under the same race guard, so warming never stores a stale value either.

``Rewarmer`` does the same on its own, soon after a write deleted the entries
of queries declared with ``rewarm=True``: the dedicated listener
(``cache_listener``) tells it which tables moved, and a thread of its own
reloads whatever of those queries' parameter sets is missing once the writes
have paused for ``CACHE_REWARM_DELAY_S`` (a burst of writes costs one round).
It is the refill half of stale-while-revalidate without its stale half: no
reader is ever handed the old rows; the readers that arrive before the
re-warm has run still miss, and share one load through the stampede lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections

from growthcompass.cache.querysets import CachedQuery, declared, queryset_cache

__all__ = ["Rewarmer", "UnknownQuery", "WarmResult", "warm"]

log = logging.getLogger("growthcompass.cache")


class UnknownQuery(LookupError):
    """A query name that no app declared."""


@dataclass(frozen=True)
class WarmResult:
    query: str
    params: dict[str, Any]
    status: str  # "cached" (was there), "stored", "not stored" (refused, bypassed or uncacheable)


def _warm_one(query: CachedQuery[Any], params: dict[str, Any]) -> WarmResult:
    cache = queryset_cache()
    plan = query._plan_for(cache, params)
    if plan is None:
        return WarmResult(query.name, params, "not stored")
    client = cache.store.client
    if client.exists(plan.key):
        return WarmResult(query.name, params, "cached")
    query(**params)
    return WarmResult(query.name, params, "stored" if client.exists(plan.key) else "not stored")


def warm(names: Iterable[str] = ()) -> list[WarmResult]:
    """Warm the named declared queries (all of them when none is named)."""
    queries = declared()
    wanted = list(names) or list(queries)
    unknown = [name for name in wanted if name not in queries]
    if unknown:
        known = ", ".join(queries) or "none"
        raise UnknownQuery(f"no cached query named {', '.join(unknown)} (declared: {known})")
    return [_warm_one(queries[name], dict(params)) for name in wanted for params in queries[name].warm]


class Rewarmer:
    """Reload the ``rewarm`` declared queries' missing parameter sets soon after their tables moved."""

    def __init__(self, *, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.rounds = 0
        self.stored = 0
        self.errors = 0
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def queries() -> list[str]:
        """The declared queries it keeps warm: ``rewarm=True`` with parameter sets to load."""
        return [name for name, query in declared().items() if query.rewarm and query.warm]

    def tables_moved(self, tables: set[str]) -> None:
        """The listener's ``on_tables`` hook: returns at once, the work is the thread's."""
        self._wanted.set()

    def start(self) -> Rewarmer:
        self._thread = threading.Thread(target=self._run, name="cache-rewarmer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wanted.wait()
            # Wait for a pause in the writes: each new batch restarts the delay.
            while self._wanted.is_set() and not self._stopping.is_set():
                self._wanted.clear()
                self._stopping.wait(self.delay_s)
            if self._stopping.is_set():
                return
            self.rewarm_once()

    def rewarm_once(self) -> list[WarmResult]:
        """One round: every parameter set of ``queries()`` that is missing is loaded (through the guard)."""
        names = self.queries()
        if not names:
            return []
        try:
            results = warm(names)
        except Exception:  # Redis or PostgreSQL away: the next write brings the next round
            self.errors += 1
            log.warning("cache re-warm failed; retried after the next write", exc_info=True)
            return []
        finally:
            # A long-lived thread must not keep a pooled connection checked out between rounds.
            connections.close_all()
        self.rounds += 1
        self.stored += sum(result.status == "stored" for result in results)
        return results
