"""This process's connection-pool figures, copied into the pool instruments.

psycopg_pool counts in the process that owns the pool, so each worker copies
its own figures: gauges are set (summed over live workers by ``/metrics`` in
multiprocess mode), cumulative counts are added as the increase since the
last copy. A worker copies after a request at most once a second
(``sync_process_metrics``), and the worker serving a scrape copies first.
"""

from __future__ import annotations

import os
import threading
import time

from growthcompass.metrics import sources
from growthcompass.metrics.instruments import POOL_COUNTERS, POOL_GAUGES

__all__ = ["sync_process_metrics"]

SYNC_INTERVAL_S = 1.0

_lock = threading.Lock()
_next_sync = 0.0
_copied: dict[tuple[str, str], int] = {}


def sync_process_metrics(*, force: bool = False) -> bool:
    """Copy the pool figures if a second has passed (or ``force``); ``True`` when it copied."""
    global _next_sync
    now = time.monotonic()
    if not force and now < _next_sync:
        return False
    if not _lock.acquire(blocking=force):
        return False
    try:
        _next_sync = now + SYNC_INTERVAL_S
        for pool in sources.pool_figures():
            for field, gauge in POOL_GAUGES.items():
                gauge.labels(pool.alias).set(getattr(pool, field))
            for field, counter in POOL_COUNTERS.items():
                value = int(getattr(pool, field))
                before = _copied.get((pool.alias, field), 0)
                # A smaller value means a new pool (reopened): its whole count is new.
                increase = value - before if value >= before else value
                if increase:
                    counter.labels(pool.alias).inc(increase)
                _copied[(pool.alias, field)] = value
    finally:
        _lock.release()
    return True


def _forget_after_fork() -> None:
    global _next_sync
    _copied.clear()
    _next_sync = 0.0


os.register_at_fork(after_in_child=_forget_after_fork)
