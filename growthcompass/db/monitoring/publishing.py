"""Share each process's query metrics through Redis so one report covers them all.

Every process tracks its own queries; ``manage.py query_report`` runs in a
process of its own that has run almost none. So a daemon thread in each
process writes a snapshot (its busiest statements and its pool statistics)
every ``METRICS_QUERY_PUBLISH_S`` seconds -- and once more at exit -- into one
Redis hash, a field per process. The report merges the fields; snapshots not
refreshed for ``PUBLISHED_MAX_AGE_S`` belong to processes long gone and are
dropped. Publishing happens off the request path, so a slow or absent Redis
never delays a query.
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

from growthcompass.db.monitoring import tracking
from growthcompass.db.monitoring.metrics import QueryMetrics, process_name
from growthcompass.db.monitoring.pools import PoolMetrics, pool_metrics

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


def _redis() -> tuple[Any, str]:
    from django.core.cache import caches
    from django_redis import get_redis_connection

    return get_redis_connection("default"), caches["default"].make_key(_KEY)


def publish_query_metrics() -> None:
    """Write this process's snapshot now (raises if Redis cannot be reached)."""
    metrics = tracking.tracker.metrics()
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
        "pools": [p.as_dict() for p in pool_metrics()],
    }
    client, key = _redis()
    client.hset(key, process_name(), json.dumps(payload))
    client.expire(key, PUBLISHED_MAX_AGE_S * 2)


def published_query_metrics(*, exclude_self: bool = True) -> list[PublishedMetrics]:
    """Every live process's latest snapshot (stale ones are deleted as they are found)."""
    client, key = _redis()
    now = time.time()
    found = []
    for raw_field, raw_value in client.hgetall(key).items():
        field = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
        try:
            data = json.loads(raw_value)
        except ValueError:
            client.hdel(key, raw_field)
            continue
        if now - float(data.get("published_at", 0)) > PUBLISHED_MAX_AGE_S:
            client.hdel(key, raw_field)
            continue
        if exclude_self and field == process_name():
            continue
        found.append(
            PublishedMetrics(
                process=field,
                published_at=float(data["published_at"]),
                metrics=QueryMetrics.from_dict(data["metrics"]),
                pools=tuple(PoolMetrics.from_dict(p) for p in data.get("pools", [])),
            )
        )
    return sorted(found, key=lambda p: p.process)


def clear_published_query_metrics() -> None:
    client, key = _redis()
    client.delete(key)


def _publish_quietly() -> None:
    try:
        publish_query_metrics()
    except Exception as exc:  # Redis down: try again next round, never disturb the app
        logger.debug("could not publish query metrics: %s", exc)


def _loop(interval: float) -> None:
    while True:
        time.sleep(interval)
        _publish_quietly()


def start_if_configured() -> None:
    """Start this process's publisher thread once (again after a fork) when publishing is on."""
    global _started_in
    interval = float(getattr(settings, "METRICS_QUERY_PUBLISH_S", 0) or 0)
    if interval <= 0 or _started_in == os.getpid():
        return
    with _start_lock:
        if _started_in == os.getpid():
            return
        _started_in = os.getpid()
        threading.Thread(target=_loop, args=(interval,), name="query-metrics-publisher", daemon=True).start()
        atexit.register(_publish_at_exit, os.getpid())


def _publish_at_exit(pid: int) -> None:
    if pid == os.getpid() and tracking.tracker.metrics().total_queries:
        _publish_quietly()
