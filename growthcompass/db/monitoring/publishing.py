"""Share each process's query metrics through Redis so one report covers them all.

Every process tracks its own queries; ``manage.py query_report`` runs in a
process of its own that has run almost none. So a daemon thread in each
process writes a snapshot (its busiest statements and its pool statistics)
every ``QUERY_PUBLISH_S`` seconds -- and once more at exit -- into one
Redis hash, a field per process (``growthcompass.redis_hash``). The report
merges the fields; snapshots not refreshed for ``PUBLISHED_MAX_AGE_S`` belong
to processes long gone and are dropped. Statement metrics of a process that
exited stay in the report for that hour (what it ran still happened); its pool
statistics do not: a pool is a live gauge, so the report lists pools only of
processes still publishing (``PublishedMetrics.live``). Publishing happens off
the request path, so a slow or absent Redis never delays a query.

The thread starts with a process's first database connection (``install``),
so a worker forked after start-up runs its own.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.backends.signals import connection_created

from growthcompass.db.monitoring.metrics import QueryMetrics, process_name
from growthcompass.db.monitoring.pools import PoolMetrics, pool_metrics
from growthcompass.db.monitoring.tracking import tracker
from growthcompass.redis_hash import RedisHash

__all__ = [
    "PUBLISHED_MAX_AGE_S",
    "PUBLISHED_STATEMENTS",
    "PublishedMetrics",
    "clear_published_query_metrics",
    "install",
    "publish_query_metrics",
    "published_query_metrics",
    "start_if_configured",
    "uninstall",
]

logger = logging.getLogger("growthcompass.db.monitoring")

PUBLISHED_STATEMENTS = 200
PUBLISHED_MAX_AGE_S = 3600
_KEY = "query-metrics"

_started_in: int | None = None
_start_lock = threading.Lock()


@dataclass(frozen=True)
class PublishedMetrics:
    process: str
    published_at: float
    metrics: QueryMetrics
    pools: tuple[PoolMetrics, ...]
    # The snapshot a process wrote at exit: its statements count, its pools are gone.
    exited: bool = False

    def live(self, *, now: float, interval_s: float) -> bool:
        """Still publishing: not its exit snapshot, and refreshed within a few publishing intervals."""
        window = 3 * interval_s if interval_s > 0 else PUBLISHED_MAX_AGE_S
        return not self.exited and now - self.published_at <= window


def _published() -> RedisHash:
    # Built on every use rather than once: CACHES can change (override_settings).
    return RedisHash.on_cache(_KEY)


def publish_query_metrics(*, exited: bool = False) -> None:
    """Write this process's snapshot now (raises if Redis cannot be reached); ``exited`` at exit."""
    metrics = tracker.metrics()
    busiest = QueryMetrics(
        started_at=metrics.started_at,
        slow_query_ms=metrics.slow_query_ms,
        statements=tuple(metrics.top(PUBLISHED_STATEMENTS)),
        processes=metrics.processes,
    )
    payload = {
        "process": process_name(),
        "published_at": time.time(),
        "metrics": busiest.as_dict(),
        "pools": [] if exited else [p.as_dict() for p in pool_metrics()],
        "exited": exited,
    }
    _published().put(process_name(), json.dumps(payload), expire_s=PUBLISHED_MAX_AGE_S * 2)


def published_query_metrics(*, exclude_self: bool = True) -> list[PublishedMetrics]:
    """Every live process's latest snapshot (stale ones are deleted as they are found)."""
    published = _published()
    now = time.time()
    found = []
    for field, raw_value in published.values().items():
        try:
            data = json.loads(raw_value)
        except ValueError:
            published.remove(field)
            continue
        if now - float(data.get("published_at", 0)) > PUBLISHED_MAX_AGE_S:
            published.remove(field)
            continue
        if exclude_self and field == process_name():
            continue
        found.append(
            PublishedMetrics(
                process=field,
                published_at=float(data["published_at"]),
                metrics=QueryMetrics.from_dict(data["metrics"]),
                pools=tuple(PoolMetrics.from_dict(p) for p in data.get("pools", [])),
                exited=bool(data.get("exited", False)),
            )
        )
    return sorted(found, key=lambda p: p.process)


def clear_published_query_metrics() -> None:
    _published().clear()


def _publish_quietly(*, exited: bool = False) -> None:
    try:
        publish_query_metrics(exited=exited)
    except Exception as exc:  # Redis down: try again next round, never disturb the app
        logger.debug("could not publish query metrics: %s", exc)


def _loop(interval: float) -> None:
    while True:
        time.sleep(interval)
        _publish_quietly()


def start_if_configured() -> None:
    """Start this process's publisher thread once (again after a fork) when publishing is on."""
    global _started_in
    interval = settings.QUERY_PUBLISH_S
    if interval <= 0 or _started_in == os.getpid():
        return
    with _start_lock:
        if _started_in == os.getpid():
            return
        _started_in = os.getpid()
        threading.Thread(target=_loop, args=(interval,), name="query-metrics-publisher", daemon=True).start()
        atexit.register(_publish_at_exit, os.getpid())


def _publish_at_exit(pid: int) -> None:
    if pid == os.getpid() and tracker.metrics().total_queries:
        _publish_quietly(exited=True)


def _start_on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    # On a connection rather than at install(): a worker forked after start-up
    # opens its first connection in the child, which is where its publisher must run.
    start_if_configured()


def install() -> None:
    """Publish from every process that opens a database connection from now on (idempotent)."""
    from django.db import connections

    connection_created.connect(_start_on_connection, dispatch_uid="growthcompass.db.monitoring.publishing")
    if connections.all(initialized_only=True):
        start_if_configured()


def uninstall() -> None:
    """Start no more publisher threads (one already running keeps publishing)."""
    connection_created.disconnect(dispatch_uid="growthcompass.db.monitoring.publishing")
