"""Metrics add up across processes (through Redis), and pool statistics come from psycopg's pool."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import caches
from django.db import connection
from django_redis import get_redis_connection

from growthcompass.db import monitoring
from growthcompass.db.monitoring import QueryMetrics, merge_query_metrics, tracker
from growthcompass.db.monitoring.metrics import process_name

pytestmark = pytest.mark.django_db

KEY = caches["default"].make_key("query-metrics")


@pytest.fixture
def published() -> Iterator[None]:
    monitoring.clear_published_query_metrics()
    yield
    monitoring.clear_published_query_metrics()


def _metrics_of(calls: dict[str, list[float]], process: str) -> QueryMetrics:
    tracker.reset()
    for sql, durations in calls.items():
        for duration in durations:
            tracker.record("default", sql, duration)
    metrics = tracker.metrics()
    return QueryMetrics(metrics.started_at, metrics.slow_query_ms, metrics.statements, (process,))


def test_merging_adds_calls_times_and_histograms_exactly(fresh_metrics: Callable[[], None]) -> None:
    first = _metrics_of({"SELECT 1 FROM a": [1.0, 3.0], "SELECT 1 FROM b": [10.0]}, "host:1")
    second = _metrics_of({"SELECT 2 FROM a": [5.0]}, "host:2")
    merged = merge_query_metrics([first, second])

    assert merged.processes == ("host:1", "host:2")
    assert merged.total_queries == 4
    assert merged.total_ms == pytest.approx(19.0)
    [a] = [s for s in merged.statements if s.statement == "SELECT ? FROM a"]
    assert (a.calls, a.total_ms, a.max_ms, sum(a.histogram.values())) == (3, 9.0, 5.0, 3)
    assert QueryMetrics.from_dict(json.loads(json.dumps(merged.as_dict()))).as_dict() == merged.as_dict()


def test_a_published_snapshot_is_read_back_with_its_pools(fresh_metrics: Callable[[], None], published: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'published'")
    monitoring.publish_query_metrics()

    assert monitoring.published_query_metrics() == []  # this process is reported live, not from Redis
    [mine] = monitoring.published_query_metrics(exclude_self=False)
    assert mine.process == process_name()
    assert mine.metrics.total_queries == 1
    assert [pool.alias for pool in mine.pools] == ["default"]


def test_snapshots_of_processes_gone_quiet_are_dropped(published: None) -> None:
    client = get_redis_connection("default")
    stale = {"process": "gone:1", "published_at": time.time() - 7200, "metrics": _metrics_of({}, "gone:1").as_dict()}
    client.hset(KEY, "gone:1", json.dumps(stale))
    client.hset(KEY, "broken:2", "not json")

    assert monitoring.published_query_metrics() == []
    assert client.hkeys(KEY) == []


def test_pool_metrics_count_connections_in_use(fresh_metrics: Callable[[], None]) -> None:
    connection.ensure_connection()  # the test's transaction holds one pooled connection
    [pool] = [p for p in monitoring.pool_metrics() if p.alias == "default"]
    assert pool.in_use >= 1
    assert pool.size == pool.idle + pool.in_use
    assert pool.size <= pool.max_size
    assert pool.requests >= 1
