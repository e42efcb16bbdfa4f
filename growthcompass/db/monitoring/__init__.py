"""Query monitoring: every query timed by statement fingerprint, pool statistics, plans.

The Python API (what ``manage.py query_report`` is built on):

* ``query_metrics()`` -- this process's totals, mean, p95 and per-statement numbers;
* ``slow_queries(threshold_ms=None)`` -- statements whose slowest run took at
  least ``threshold_ms`` (default ``SLOW_QUERY_MS``), slowest first;
* ``reset_query_metrics()``; ``tracking_paused()`` to leave a block untracked;
* ``pool_metrics()`` -- psycopg pool statistics per alias;
* ``publish_query_metrics()`` / ``published_query_metrics()`` /
  ``merge_query_metrics()`` -- every process's numbers, shared through Redis;
* ``explain_statement()`` and ``stat_statements()`` for ``--explain`` and
  ``pg_stat_statements``.

Executions over ``SLOW_QUERY_MS`` are logged as warnings on the
``growthcompass.db.slow_queries`` logger with their fingerprint and duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from growthcompass.db.monitoring import publishing, tracking
from growthcompass.db.monitoring.explain import ExplainResult, PlanFinding, explain_statement
from growthcompass.db.monitoring.fingerprint import fingerprint, is_read_only_statement, normalise
from growthcompass.db.monitoring.metrics import QueryMetrics, StatementMetrics, merge_query_metrics
from growthcompass.db.monitoring.pools import PoolMetrics, pool_metrics
from growthcompass.db.monitoring.publishing import (
    PublishedMetrics,
    clear_published_query_metrics,
    publish_query_metrics,
    published_query_metrics,
)
from growthcompass.db.monitoring.stat_statements import ServerStatement, StatStatements, stat_statements
from growthcompass.db.monitoring.tracking import is_installed, tracker

__all__ = [
    "ExplainResult",
    "PlanFinding",
    "PoolMetrics",
    "PublishedMetrics",
    "QueryMetrics",
    "ServerStatement",
    "StatStatements",
    "StatementMetrics",
    "clear_published_query_metrics",
    "explain_statement",
    "fingerprint",
    "install",
    "is_installed",
    "is_read_only_statement",
    "merge_query_metrics",
    "normalise",
    "pool_metrics",
    "publish_query_metrics",
    "published_query_metrics",
    "query_metrics",
    "reset_query_metrics",
    "slow_queries",
    "stat_statements",
    "tracking_paused",
    "uninstall",
]


def install() -> None:
    """Track every query from now on, and publish each process's metrics to Redis (``QUERY_PUBLISH_S``)."""
    tracking.install()
    publishing.install()


def uninstall() -> None:
    """Stop tracking and starting publishers (for measuring the tracking's own cost); the metrics are kept."""
    tracking.uninstall()
    publishing.uninstall()


def query_metrics() -> QueryMetrics:
    """Everything this process has tracked since it started (or since the last reset)."""
    return tracker.metrics()


def slow_queries(threshold_ms: float | None = None) -> list[StatementMetrics]:
    """Statements whose slowest execution took at least ``threshold_ms`` (default ``SLOW_QUERY_MS``)."""
    return tracker.metrics().slowest(settings.SLOW_QUERY_MS if threshold_ms is None else threshold_ms)


def reset_query_metrics() -> None:
    tracker.reset()


@contextmanager
def tracking_paused() -> Iterator[None]:
    with tracker.paused():
        yield
