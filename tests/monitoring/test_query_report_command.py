"""manage.py query_report: totals, busiest and slowest statements, pools, plans, other processes."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_redis import get_redis_connection

from growthcompass.db import monitoring
from growthcompass.db.monitoring import QueryMetrics, tracker

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_published() -> Iterator[None]:
    monitoring.clear_published_query_metrics()
    yield
    monitoring.clear_published_query_metrics()


def _report(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("query_report", "--json", *args, stdout=out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def _run_queries() -> None:
    with connection.cursor() as cursor:
        for number in range(3):
            cursor.execute("SELECT count(*) FROM students WHERE grade_level = %s", [number])
        cursor.execute("SELECT pg_sleep(0.02)")


def test_report_lists_totals_top_and_slow_statements(fresh_metrics: Callable[[], None], no_published: None) -> None:
    _run_queries()
    report = _report("--local", "--slow-ms", "15", "--top", "2")

    assert report["totals"]["queries"] == 4
    assert report["by_alias"]["default"]["queries"] == 4
    top = [s["statement"] for s in report["top_by_total_time"]]
    assert top[0] == "SELECT pg_sleep(?)" and len(top) == 2
    assert [s["statement"] for s in report["slow_statements"]] == ["SELECT pg_sleep(?)"]
    grade_query = next(s for s in report["top_by_total_time"] if "grade_level" in s["statement"])
    assert grade_query["calls"] == 3
    assert {"process", "alias", "size", "idle", "in_use", "waiting", "request_errors"} <= set(report["pools"][0])


def test_report_merges_metrics_published_by_other_processes(
    fresh_metrics: Callable[[], None], no_published: None
) -> None:
    tracker.record("default", "SELECT 1 FROM courses", 2.0)  # as if run by another process
    other = QueryMetrics(time.time() - 60, 1000.0, tracker.metrics().statements, ("elsewhere:99",))
    fresh_metrics()
    payload = {"process": "elsewhere:99", "published_at": time.time(), "metrics": other.as_dict(), "pools": []}
    key = caches["default"].make_key("query-metrics")
    get_redis_connection("default").hset(key, "elsewhere:99", json.dumps(payload))
    _run_queries()

    report = _report()
    assert "elsewhere:99" in report["processes"]
    assert report["totals"]["queries"] == 5
    assert any(s["statement"] == "SELECT ? FROM courses" for s in report["top_by_total_time"])
    assert _report("--local")["totals"]["queries"] == 4


def test_report_says_whether_pg_stat_statements_is_available(
    fresh_metrics: Callable[[], None], no_published: None
) -> None:
    out = io.StringIO()
    call_command("query_report", "--local", stdout=out)
    text = out.getvalue()
    server = monitoring.stat_statements()
    if server.available:
        assert "pg_stat_statements: top 10 by total execution time" in text
    else:
        assert f"pg_stat_statements: not available -- {server.reason}" in text
    assert "Top 10 statements by total time" in text
    assert "Connection pools" in text


def test_explain_plans_top_statements_and_skips_writes(fresh_metrics: Callable[[], None], no_published: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM attendances WHERE note = %s", ["x"])
        cursor.execute("UPDATE students SET leaving_reason = %s WHERE id = %s", ["", -1])
    report = _report("--local", "--explain")
    by_statement = {e["statement"]: e for e in report["explain"]}
    assert by_statement["SELECT * FROM attendances WHERE note = %s"]["explained"] is True
    assert by_statement["UPDATE students SET leaving_reason = %s WHERE id = %s"]["note"] == "not explained: it writes"


def test_bad_options_are_refused() -> None:
    with pytest.raises(CommandError, match="--top: must be at least 1"):
        call_command("query_report", "--top", "0")
    with pytest.raises(CommandError, match="--slow-ms: must be at least 0"):
        call_command("query_report", "--slow-ms", "-1")


def test_pools_are_listed_only_for_processes_still_publishing(
    fresh_metrics: Callable[[], None], no_published: None, settings: Any
) -> None:
    """An exited process's (or a silent one's) statements still count; its pool statistics are not shown."""
    settings.QUERY_PUBLISH_S = 30.0
    _run_queries()  # opens this process's pool, so it has one to show
    pool = monitoring.pool_metrics()[0].as_dict()
    statements = tracker.metrics().statements
    now = time.time()
    snapshots = {
        "live:1": {"published_at": now - 5, "exited": False},
        "exited:2": {"published_at": now - 5, "exited": True},
        "silent:3": {"published_at": now - 600, "exited": False},  # missed 20 rounds: gone without exiting
    }
    key = caches["default"].make_key("query-metrics")
    for name, state in snapshots.items():
        metrics = QueryMetrics(now - 900, 1000.0, statements, (name,))
        payload = {"process": name, "metrics": metrics.as_dict(), "pools": [pool], **state}
        get_redis_connection("default").hset(key, name, json.dumps(payload))

    report = _report()

    assert {"live:1", "exited:2", "silent:3"} <= set(report["processes"])
    pool_processes = {row["process"] for row in report["pools"]}
    assert "live:1" in pool_processes
    assert "exited:2" not in pool_processes and "silent:3" not in pool_processes


def test_the_exit_snapshot_is_marked_and_carries_no_pools(
    fresh_metrics: Callable[[], None], no_published: None
) -> None:
    _run_queries()
    monitoring.publish_query_metrics(exited=True)

    [mine] = monitoring.published_query_metrics(exclude_self=False)
    assert mine.exited and mine.pools == ()
    assert mine.metrics.total_queries == 4
