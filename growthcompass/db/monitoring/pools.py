"""Connection pool metrics from psycopg_pool's statistics, per database alias, for this process."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import connections


@dataclass(frozen=True)
class PoolMetrics:
    alias: str
    min_size: int
    max_size: int
    size: int  # connections the pool holds now
    idle: int  # ... of which waiting in the pool
    in_use: int  # ... of which lent out
    waiting: int  # requests queued for a connection right now
    requests: int  # connections asked for since the pool opened
    requests_queued: int  # ... that had to wait
    requests_wait_ms: int  # total time spent waiting
    request_errors: int  # requests that failed (timeout, pool closed)
    connection_errors: int  # failed attempts to open a server connection
    connections_lost: int  # connections found broken and discarded

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoolMetrics:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def pool_metrics() -> list[PoolMetrics]:
    """One entry per alias whose pool this process has opened (others have nothing to report)."""
    found = []
    for alias in settings.DATABASES:
        wrapper = connections[alias]
        # Read the pool only if it exists: the ``pool`` property would create one.
        pool = getattr(wrapper, "_connection_pools", {}).get(alias)
        if pool is None:
            continue
        stats = pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        found.append(
            PoolMetrics(
                alias=alias,
                min_size=stats.get("pool_min", 0),
                max_size=stats.get("pool_max", 0),
                size=size,
                idle=idle,
                in_use=max(0, size - idle),
                waiting=stats.get("requests_waiting", 0),
                requests=stats.get("requests_num", 0),
                requests_queued=stats.get("requests_queued", 0),
                requests_wait_ms=stats.get("requests_wait_ms", 0),
                request_errors=stats.get("requests_errors", 0),
                connection_errors=stats.get("connections_errors", 0),
                connections_lost=stats.get("connections_lost", 0),
            )
        )
    return found
