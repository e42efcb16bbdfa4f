"""Every query is timed by fingerprint and alias; slow ones are logged."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections
from django.test import override_settings

from growthcompass.db import monitoring
from growthcompass.db.monitoring import query_metrics, slow_queries, tracker, tracking_paused
from growthcompass.db.monitoring.metrics import percentile
from growthcompass.db.monitoring.tracking import MAX_STATEMENTS, _on_connections
from students.models import Student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _statement(fragment: str) -> monitoring.StatementMetrics:
    [found] = [s for s in query_metrics().statements if fragment in s.statement]
    return found


def test_tracking_is_installed_at_start_up() -> None:
    assert monitoring.is_installed()
    connection.ensure_connection()
    assert tracker in connection.execute_wrappers


def test_orm_queries_with_different_values_are_one_statement(fresh_metrics: Callable[[], None]) -> None:
    StudentFactory.create(student_number="S1")
    StudentFactory.create(student_number="S2")
    fresh_metrics()
    for number in ("S1", "S2", "S3"):
        Student.objects.filter(student_number=number).exists()

    stats = _statement('WHERE "students"."student_number" = ?')
    assert (stats.alias, stats.calls, stats.errors) == ("default", 3, 0)
    assert stats.total_ms > 0 and stats.max_ms <= stats.total_ms
    assert "%s" in stats.template  # the template keeps placeholders, never values
    assert "S1" not in stats.template and "S1" not in stats.statement
    metrics = query_metrics()
    assert metrics.total_queries == 3
    assert metrics.mean_ms == pytest.approx(stats.total_ms / 3)


def test_failed_queries_are_counted_as_errors(fresh_metrics: Callable[[], None]) -> None:
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_here")
    assert _statement("no_such_table_here").errors == 1


@override_settings(SLOW_QUERY_MS=20)
def test_slow_queries_are_logged_with_fingerprint_and_duration(
    fresh_metrics: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="growthcompass.db.slow_queries"), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.03)")
        cursor.execute("SELECT 1")
    # Only the sleep is sure to be slow; on a loaded machine SELECT 1 may be logged too.
    [record] = [r for r in caplog.records if "pg_sleep" in r.getMessage()]
    stats = _statement("pg_sleep")
    assert record.getMessage().startswith("slow query: ")
    assert stats.fingerprint in record.getMessage() and "SELECT pg_sleep(?)" in record.getMessage()
    assert record.duration_ms >= 20  # type: ignore[attr-defined]
    assert stats.slow_calls == 1 and query_metrics().slow_queries == len(caplog.records)


def test_slow_queries_lists_statements_over_the_threshold_slowest_first(fresh_metrics: Callable[[], None]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.02)")
        cursor.execute("SELECT pg_sleep(0.04) AS longer")
        cursor.execute("SELECT 1")
    slow = slow_queries(15)
    # Both sleeps are over the threshold whatever the load; the order follows the recorded times.
    assert {"SELECT pg_sleep(?) AS longer", "SELECT pg_sleep(?)"} <= {s.statement for s in slow}
    assert [s.max_ms for s in slow] == sorted((s.max_ms for s in slow), reverse=True)
    assert all(s.max_ms >= 15 for s in slow)
    assert slow_queries(10_000) == []


def test_p95_of_recorded_durations_is_within_five_percent(fresh_metrics: Callable[[], None]) -> None:
    rng = random.Random(5)
    durations = [rng.lognormvariate(0, 1) for _ in range(5000)]
    for duration in durations:
        tracker.record("default", "SELECT synthetic", duration)
    true_p95 = sorted(durations)[int(0.95 * len(durations)) - 1]
    assert query_metrics().p95_ms == pytest.approx(true_p95, rel=0.05)
    assert percentile({}, 0.95) == 0.0


def test_queries_in_other_threads_are_tracked(fresh_metrics: Callable[[], None]) -> None:
    def query() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT 'from a thread'")
        finally:
            connections.close_all()

    thread = threading.Thread(target=query)
    thread.start()
    thread.join()
    assert _statement("SELECT ?").calls == 1


def test_paused_tracking_leaves_the_block_out(fresh_metrics: Callable[[], None]) -> None:
    with tracking_paused(), connection.cursor() as cursor:
        cursor.execute("SELECT 42")
    assert query_metrics().total_queries == 0


def test_statement_variety_beyond_the_cap_is_folded_into_one_entry(fresh_metrics: Callable[[], None]) -> None:
    for index in range(MAX_STATEMENTS + 10):
        tracker.record("default", f"SELECT column_{index} FROM t", 1.0)
    metrics = query_metrics()
    assert len(metrics.statements) == MAX_STATEMENTS + 1
    assert _statement("(other statements)").calls == 10
    assert metrics.total_queries == MAX_STATEMENTS + 10


def test_uninstall_stops_tracking_and_install_resumes(fresh_metrics: Callable[[], None]) -> None:
    monitoring.uninstall()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'untracked'")
        assert query_metrics().total_queries == 0
    finally:
        monitoring.install()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'tracked'")
    assert query_metrics().total_queries == 1


def test_tracking_stays_outermost_and_sees_the_statement_the_app_sent(fresh_metrics: Callable[[], None]) -> None:
    def prefixing(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute("SELECT 1; " + sql, params, many, context)

    connection.ensure_connection()
    connection.execute_wrappers.insert(0, prefixing)  # as another app's connection_created receiver might
    try:
        _on_connections.attach(None, connection)
        assert connection.execute_wrappers[:2] == [tracker, prefixing]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'sent by the app'")
    finally:
        connection.execute_wrappers.remove(prefixing)
    assert [s.statement for s in query_metrics().statements] == ["SELECT ?"]
