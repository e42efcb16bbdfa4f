"""The per-process instruments: HTTP requests, queries and connection pools.

They live in ``PROCESS_REGISTRY``, not prometheus_client's global registry,
so ``/metrics`` decides how to read them: straight from this registry in a
single process, or, when ``PROMETHEUS_MULTIPROC_DIR`` is set (prometheus_client's
multiprocess mode, chosen when it is first imported), from every worker's
files through ``MultiProcessCollector`` -- counters and histograms summed,
pool gauges summed over live workers (``livesum``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

__all__ = [
    "DB_QUERIES",
    "DB_QUERY_DURATION",
    "DB_QUERY_ERRORS",
    "DB_QUERY_SECONDS",
    "DB_SLOW_QUERIES",
    "DB_STATEMENT_INFO",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_DURATION",
    "POOL_COUNTERS",
    "POOL_GAUGES",
    "PROCESS_REGISTRY",
]

# The ``*_created`` timestamps would double the series for a figure no dashboard uses.
disable_created_metrics()

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds. A JSON API request is a few milliseconds; the admin's change lists tens.
_HTTP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)

HTTP_REQUESTS = Counter(
    "gc_http_requests",
    "HTTP requests answered, by route pattern (not raw path), method and status code.",
    ("route", "method", "status"),
    registry=PROCESS_REGISTRY,
)
HTTP_REQUEST_DURATION = Histogram(
    "gc_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern.",
    ("route",),
    buckets=_HTTP_BUCKETS,
    registry=PROCESS_REGISTRY,
)

DB_QUERIES = Counter(
    "gc_db_queries",
    "SQL statements executed through Django, by database alias and statement fingerprint.",
    ("alias", "statement"),
    registry=PROCESS_REGISTRY,
)
DB_QUERY_ERRORS = Counter(
    "gc_db_query_errors",
    "SQL statements that raised, by database alias and statement fingerprint.",
    ("alias", "statement"),
    registry=PROCESS_REGISTRY,
)
DB_QUERY_SECONDS = Counter(
    "gc_db_query_seconds",
    "Total time spent in SQL statements, by database alias and statement fingerprint.",
    ("alias", "statement"),
    registry=PROCESS_REGISTRY,
)
DB_SLOW_QUERIES = Counter(
    "gc_db_slow_queries",
    "SQL statements that ran at least SLOW_QUERY_MS, by database alias and statement fingerprint.",
    ("alias", "statement"),
    registry=PROCESS_REGISTRY,
)
DB_QUERY_DURATION = Histogram(
    "gc_db_query_duration_seconds",
    "Time of one SQL statement, by database alias.",
    ("alias",),
    buckets=_QUERY_BUCKETS,
    registry=PROCESS_REGISTRY,
)
DB_STATEMENT_INFO = Gauge(
    "gc_db_statement_info",
    "1 for each labelled statement fingerprint; 'text' is its normalised SQL (cut to 160 characters).",
    ("alias", "statement", "text"),
    registry=PROCESS_REGISTRY,
    multiprocess_mode="max",
)

_POOL_GAUGE_HELP = {
    "size": "Connections the pool holds now (summed over live workers).",
    "max_size": "The pool's maximum size (summed over live workers).",
    "idle": "Connections waiting in the pool (summed over live workers).",
    "in_use": "Connections lent out (summed over live workers).",
    "waiting": "Requests queued for a connection right now (summed over live workers).",
}
POOL_GAUGES: dict[str, Gauge] = {
    field: Gauge(f"gc_db_pool_{field}", help_text, ("alias",), registry=PROCESS_REGISTRY, multiprocess_mode="livesum")
    for field, help_text in _POOL_GAUGE_HELP.items()
}
_POOL_COUNTER_HELP = {
    "request_errors": "Requests for a pooled connection that failed (timeout, pool closed).",
    "connection_errors": "Failed attempts to open a server connection.",
    "connections_lost": "Pooled connections found broken and discarded.",
    "requests_queued": "Requests for a pooled connection that had to wait.",
}
POOL_COUNTERS: dict[str, Counter] = {
    field: Counter(f"gc_db_pool_{field}", help_text, ("alias",), registry=PROCESS_REGISTRY)
    for field, help_text in _POOL_COUNTER_HELP.items()
}
