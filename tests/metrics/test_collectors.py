"""Scrape-time collectors: the cache, pools, views, audit volume, migrations; one failure isolated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from dashboards.models import STUDENT_METRICS_VIEW, ViewRefresh
from growthcompass.cache import cached, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.db.monitoring import pool_metrics
from growthcompass.metrics import GaugeMetricFamily, register_collector, unregister_collector
from students.cache import STUDENT_FAMILY
from students.models import Student
from students.selectors import student_get
from tests.factories import StudentFactory
from tests.metrics.conftest import scrape, value


@pytest.fixture
def private_cache(settings: Any, worker_id: str) -> Iterator[None]:
    """The cache store on an empty prefix of this test's own, so its counts start at zero."""
    prefix = f"{settings.CACHES['default']['KEY_PREFIX']}-metrics-{worker_id}"
    with override_settings(CACHES=caches_from_url(settings.REDIS_URL, key_prefix=prefix)):
        store = get_store()
        store.reset_statistics()
        keys = list(store.client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            store.client.unlink(*keys)
        yield
        store.reset_statistics()
        reset_store()


@pytest.fixture
def temporary_collectors() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        unregister_collector(name)


def test_cache_reads_are_exported_per_family(transactional_db: None, private_cache: None) -> None:
    student = StudentFactory.create()
    family = STUDENT_FAMILY.name
    before = scrape()
    assert value(before, "gc_cache_misses_total", family=family) == 0

    assert student_get(student.pk) is not None  # a miss, loaded and stored
    assert student_get(student.pk) is not None  # a hit (Redis or the in-process tier)
    after = scrape()

    assert value(after, "gc_cache_misses_total", family=family) == 1
    assert value(after, "gc_cache_stores_total", family=family) == 1
    hits = value(after, "gc_cache_hits_total", family=family) + value(after, "gc_cache_local_hits_total", family=family)
    assert hits == 1
    assert value(after, "gc_redis_up") == 1
    assert value(after, "gc_redis_ping_seconds") > 0


def test_cached_queryset_reads_are_exported_per_table(transactional_db: None, private_cache: None) -> None:
    StudentFactory.create(grade_level=4)
    queryset = Student.objects.filter(grade_level=4)
    before = scrape()
    assert value(before, "gc_queryset_cache_misses_total", table="students") == 0

    assert len(cached(queryset)) == 1  # a miss, stored
    assert len(cached(queryset)) == 1  # a hit
    after = scrape()

    assert value(after, "gc_queryset_cache_misses_total", table="students") == 1
    assert value(after, "gc_queryset_cache_stores_total", table="students") == 1
    assert value(after, "gc_queryset_cache_hits_total", table="students") == 1
    assert value(after, "gc_cache_misses_total", family="table:students") == 0  # not counted as a family


def test_pool_figures_of_this_process_are_exported(db: None) -> None:
    connection.ensure_connection()
    pools = {pool.alias: pool for pool in pool_metrics()}
    assert "default" in pools, "the test database is not pooled"

    samples = scrape()

    assert value(samples, "gc_db_pool_max_size", alias="default") == pools["default"].max_size
    assert value(samples, "gc_db_pool_in_use", alias="default") >= 1  # this test's own connection


def test_view_age_and_last_refresh_come_from_the_latest_successful_refresh(db: None) -> None:
    ViewRefresh.objects.filter(view_name=STUDENT_METRICS_VIEW).delete()
    never_refreshed = ("view", STUDENT_METRICS_VIEW)
    assert not [labels for name, labels in scrape() if name == "gc_view_age_seconds" and never_refreshed in labels], (
        "a view never refreshed has an age"
    )
    finished = timezone.now() - dt.timedelta(seconds=120)
    ViewRefresh.objects.create(
        view_name=STUDENT_METRICS_VIEW,
        started_at=finished - dt.timedelta(seconds=2),
        finished_at=finished,
        duration_ms=1500.0,
        row_count=7,
        concurrent=True,
        source=ViewRefresh.Source.API,
    )

    samples = scrape()

    age = value(samples, "gc_view_age_seconds", view=STUDENT_METRICS_VIEW)
    assert 120 <= age < 600
    assert value(samples, "gc_view_last_refresh_duration_seconds", view=STUDENT_METRICS_VIEW) == 1.5
    assert value(samples, "gc_view_last_refresh_rows", view=STUDENT_METRICS_VIEW) == 7


def test_failed_refreshes_are_counted(db: None) -> None:
    before = value(scrape(), "gc_view_failed_refreshes_total", view=STUDENT_METRICS_VIEW)
    now = timezone.now()
    ViewRefresh.objects.create(
        view_name=STUDENT_METRICS_VIEW,
        started_at=now,
        finished_at=now,
        duration_ms=10.0,
        concurrent=True,
        source=ViewRefresh.Source.API,
        succeeded=False,
        error="canceling statement due to statement timeout",
    )

    assert value(scrape(), "gc_view_failed_refreshes_total", view=STUDENT_METRICS_VIEW) == before + 1


def test_audit_rows_written_are_exported_per_audited_table(db: None) -> None:
    table = Student._meta.db_table
    before = value(scrape(), "gc_audit_rows_recent", table=table)

    StudentFactory.create_batch(3)

    after = scrape()
    assert value(after, "gc_audit_rows_recent", table=table) == before + 3
    assert value(after, "gc_audit_window_seconds") == 300


def test_migrations_applied_and_unmodified_report_zero(db: None) -> None:
    samples = scrape()

    assert ("gc_migrations_unapplied", frozenset()) in samples
    assert value(samples, "gc_migrations_unapplied") == 0
    assert value(samples, "gc_migrations_checksum_problems") == 0


def test_replica_not_configured_is_reported_as_such(db: None, settings: Any) -> None:
    assert "replica" not in settings.DATABASES

    samples = scrape()

    assert value(samples, "gc_db_replica_configured") == 0
    assert not any(name == "gc_db_replica_lag_seconds" for name, _ in samples)


def test_a_failing_collector_is_reported_and_the_others_still_answer(db: None, temporary_collectors: list[str]) -> None:
    def broken() -> Iterator[GaugeMetricFamily]:
        raise RuntimeError("the source is down")
        yield  # pragma: no cover

    register_collector("test_broken")(broken)
    temporary_collectors.append("test_broken")

    samples = scrape()

    assert value(samples, "gc_metrics_collector_up", collector="test_broken") == 0
    assert value(samples, "gc_metrics_collector_up", collector="cache") == 1
    assert ("gc_redis_up", frozenset()) in samples


def test_a_collector_with_cache_s_runs_once_within_it(db: None, temporary_collectors: list[str]) -> None:
    calls: list[int] = []

    def counted() -> Iterator[GaugeMetricFamily]:
        calls.append(1)
        yield GaugeMetricFamily("gc_test_cached_calls", "test", value=len(calls))

    register_collector("test_cached", cache_s=3600)(counted)
    temporary_collectors.append("test_cached")

    first, second = scrape(), scrape()

    assert len(calls) == 1
    assert value(first, "gc_test_cached_calls") == value(second, "gc_test_cached_calls") == 1
