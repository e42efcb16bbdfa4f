"""Every number the exporter reads from another subsystem, through its public API only.

Kept in one small module on purpose: when the cache store or the query
monitoring changes shape, this is the file to adapt, and nothing else in
``growthcompass.metrics`` has to know where a number comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

__all__ = [
    "ReplicaState",
    "cache_statistics",
    "checksum_problems",
    "pool_figures",
    "replica_state",
    "slow_query_ms",
    "statement_fingerprint",
    "unapplied_migrations",
]


def cache_statistics() -> dict[str, Any]:
    """Cache counts summed over every process, Redis's state and the live listeners.

    ``{"redis": {"connected", "ping_ms"?}, "families": {name: {field: n}}, "listeners": [...]}``
    as ``get_store().statistics()`` returns it (it flushes this process's counts first).
    """
    from growthcompass.cache import get_store

    return get_store().statistics()


def pool_figures() -> list[Any]:
    """This process's psycopg pool statistics, one ``PoolMetrics`` per opened alias."""
    from growthcompass.db.monitoring import pool_metrics

    return pool_metrics()


def statement_fingerprint(sql: str) -> tuple[str, str]:
    """``(fingerprint id, normalised text)``, the same ids ``query_report`` shows."""
    from growthcompass.db.monitoring import fingerprint

    return fingerprint(sql)


def slow_query_ms() -> float:
    return float(settings.SLOW_QUERY_MS)


@dataclass(frozen=True)
class ReplicaState:
    configured: bool
    up: bool
    lag_s: float | None


def replica_state() -> ReplicaState:
    """The replica health check's view: configured, answering, and its lag in seconds."""
    from growthcompass.health.database import replica_check

    result = replica_check()
    configured = bool(result.data.get("configured", True))
    if not configured:
        return ReplicaState(configured=False, up=False, lag_s=None)
    answered = "round_trip_ms" in result.data
    lag = result.data.get("lag_s")
    return ReplicaState(configured=True, up=answered, lag_s=None if lag is None else float(lag))


def unapplied_migrations() -> int:
    """Migrations on disk not applied to the primary (the health check's count)."""
    from growthcompass.health.database import unapplied_migrations_check

    return len(unapplied_migrations_check().data.get("unapplied", []))


def checksum_problems() -> int:
    """Applied project migrations whose file changed, disappeared or has no recorded checksum."""
    from growthcompass.schema import selectors

    bad = {selectors.MODIFIED, selectors.MISSING_FILE, selectors.UNRECORDED}
    return sum(1 for status in selectors.migration_status_list() if status.checksum_state in bad)
