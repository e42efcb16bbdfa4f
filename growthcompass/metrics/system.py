"""The infrastructure's own scrape-time collectors: the cache, Redis, the replica, migrations.

Cache counts come from ``get_store().statistics()``, which sums every
process's counts in Redis: they are the deployment's totals whichever worker
serves the scrape (so a dashboard takes ``max`` over instances, not ``sum``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from growthcompass.metrics import sources
from growthcompass.metrics.collectors import register_collector
from growthcompass.metrics.labels import OTHER

__all__ = ["cache_metrics", "migration_metrics", "replica_metrics"]

# Families beyond this many (stale names left in the statistics hash, say) are summed under "other".
MAX_CACHE_FAMILIES = 50

# statistics() field -> (metric name, help)
CACHE_COUNTERS: dict[str, tuple[str, str]] = {
    "hits": ("gc_cache_hits", "Cache reads served from Redis, by family (all processes)."),
    "local_hits": ("gc_cache_local_hits", "Cache reads served from the in-process tier, by family (all processes)."),
    "misses": ("gc_cache_misses", "Cache reads that loaded from PostgreSQL, by family (all processes)."),
    "stores": ("gc_cache_stores", "Loaded values stored in Redis, by family (all processes)."),
    "refused": (
        "gc_cache_refused_stores",
        "Loaded values not stored because an invalidation raced the load, by family (all processes).",
    ),
    "bypassed": ("gc_cache_bypassed", "Reads sent straight to PostgreSQL while Redis was unavailable, by family."),
    "invalidations": ("gc_cache_invalidations", "Cache entries invalidated, by family (all processes)."),
    "errors": ("gc_cache_errors", "Redis errors, by family (all processes)."),
}

QUERYSET_COUNTERS: dict[str, tuple[str, str]] = {
    field: (f"gc_queryset_cache_{field}", f"Cached querysets: {what}, by table read (all processes).")
    for field, what in {
        "hits": "reads served from Redis",
        "misses": "reads that ran the query",
        "stores": "results stored",
        "refused": "results not stored because a table they read moved during the query",
        "invalidations": "entries deleted by a write to the table",
    }.items()
}


@register_collector("cache")
def cache_metrics() -> Iterator[Metric]:
    stats = sources.cache_statistics()
    redis = stats.get("redis", {})
    up = GaugeMetricFamily("gc_redis_up", "1 when Redis answered the exporter's ping, 0 when it did not.")
    up.add_metric([], 1.0 if redis.get("connected") else 0.0)
    yield up
    ping = GaugeMetricFamily("gc_redis_ping_seconds", "Round trip of the exporter's Redis ping.")
    if redis.get("connected") and "ping_ms" in redis:
        ping.add_metric([], float(redis["ping_ms"]) / 1000.0)
    yield ping
    listeners = GaugeMetricFamily(
        "gc_cache_listeners_alive", "Cache invalidation listeners whose heartbeat is within its TTL."
    )
    listeners.add_metric([], float(len(stats.get("listeners", []))))
    yield listeners

    rows = _capped_rows(stats.get("families", {}), CACHE_COUNTERS)
    for field, (metric, help_text) in CACHE_COUNTERS.items():
        family_metric = CounterMetricFamily(metric, help_text, labels=["family"])
        for name, row in rows.items():
            family_metric.add_metric([name], float(row[field]))
        yield family_metric
    # Cached querysets, per table they read (a read counts once for each table: apart from the families).
    tables = _capped_rows(stats.get("tables", {}), QUERYSET_COUNTERS)
    for field, (metric, help_text) in QUERYSET_COUNTERS.items():
        table_metric = CounterMetricFamily(metric, help_text, labels=["table"])
        for name, row in tables.items():
            table_metric.add_metric([name], float(row[field]))
        yield table_metric


def _capped_rows(found: dict[str, dict[str, Any]], counters: dict[str, tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Rows by name, past ``MAX_CACHE_FAMILIES`` names summed under ``other`` (bounded label values)."""
    rows: dict[str, dict[str, int]] = {}
    for position, (name, row) in enumerate(sorted(found.items())):
        target = rows.setdefault(name if position < MAX_CACHE_FAMILIES else OTHER, {})
        for field in counters:
            target[field] = target.get(field, 0) + int(row.get(field, 0) or 0)
    return rows


@register_collector("replica", cache_s=5.0)
def replica_metrics() -> Iterator[Metric]:
    state = sources.replica_state()
    configured = GaugeMetricFamily("gc_db_replica_configured", "1 when a read replica is configured.")
    configured.add_metric([], 1.0 if state.configured else 0.0)
    yield configured
    up = GaugeMetricFamily("gc_db_replica_up", "1 when the configured replica answered as a standby.")
    lag = GaugeMetricFamily(
        "gc_db_replica_lag_seconds", "How far the replica's replay is behind the primary (0 when caught up)."
    )
    if state.configured:
        up.add_metric([], 1.0 if state.up else 0.0)
        if state.lag_s is not None:
            lag.add_metric([], state.lag_s)
    yield up
    yield lag


@register_collector("migrations", cache_s=60.0)
def migration_metrics() -> Iterator[Metric]:
    unapplied = GaugeMetricFamily("gc_migrations_unapplied", "Migrations on disk not applied to the primary.")
    unapplied.add_metric([], float(sources.unapplied_migrations()))
    yield unapplied
    checksums = GaugeMetricFamily(
        "gc_migrations_checksum_problems",
        "Applied project migrations whose file changed since it was applied, is missing, or has no checksum.",
    )
    checksums.add_metric([], float(sources.checksum_problems()))
    yield checksums
