"""The infrastructure's own scrape-time collectors: the cache, Redis, the replica, migrations.

Cache counts come from ``get_store().statistics()``, which sums every
process's counts in Redis: they are the deployment's totals whichever worker
serves the scrape (so a dashboard takes ``max`` over instances, not ``sum``).
"""

from __future__ import annotations

from collections.abc import Iterator

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

    rows: dict[str, dict[str, int]] = {}
    for position, (family, row) in enumerate(sorted(stats.get("families", {}).items())):
        name = family if position < MAX_CACHE_FAMILIES else OTHER
        target = rows.setdefault(name, {})
        for field in CACHE_COUNTERS:
            target[field] = target.get(field, 0) + int(row.get(field, 0) or 0)
    for field, (metric, help_text) in CACHE_COUNTERS.items():
        family_metric = CounterMetricFamily(metric, help_text, labels=["family"])
        for name, row in rows.items():
            family_metric.add_metric([name], float(row[field]))
        yield family_metric


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
