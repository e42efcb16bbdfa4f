"""Concurrent refreshes of the metrics view under several reader threads: zero failed reads.

``REFRESH MATERIALIZED VIEW CONCURRENTLY`` is what lets dashboards read
``student_metrics_mv`` while it is rebuilt. Here a demo school (``seed_demo``)
makes each refresh real work; two refresher threads queue behind each
other's lock (``wait=True``) while a probe student gains one attendance per
round, and six readers hammer the view three ways -- a whole-view aggregate,
the point read ``student_metrics_get`` and the cached selector
``student_metrics`` -- each under a ``lock_timeout`` so that a reader blocked
by a refresh fails instead of waiting. No read may fail, every read sees the
whole view, and no reader ever sees the probe's count go backwards.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from attendance.models import AttendanceStatus
from dashboards.models import StudentMetrics
from dashboards.refresh import materialized_view_refresh
from dashboards.selectors import student_metrics, student_metrics_get
from demo.services import seed_demo
from growthcompass.cache import reset_store
from growthcompass.cache.config import caches_from_url
from students.models import Student
from tests.factories import AttendanceFactory, ClassSessionFactory, StudentFactory
from tests.faults.conftest import run_in_threads

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEMO_STUDENTS = 400
READERS = 6
ROUNDS = 12  # refreshes, each after one more attendance of the probe student
LOCK_TIMEOUT_MS = 10  # SELECT never waits for a concurrent refresh; a plain one fails this at once


@dataclass
class Shared:
    refreshing: int = 0  # refreshes in progress
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list[str] = field(default_factory=list)
    reads_during_refresh: int = 0


@pytest.fixture
def private_cache(cache_prefix: str) -> Iterator[None]:
    """Cached selectors on a prefix of this test's own (refreshes invalidate cached metrics)."""
    with override_settings(CACHES=caches_from_url(settings.REDIS_URL, key_prefix=cache_prefix)):
        yield
        reset_store()


def _under_lock_timeout() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [str(LOCK_TIMEOUT_MS)])


def _read_three_ways(probe_id: int) -> tuple[int, int, int, int]:
    """(rows in the view, probe's presences by point read, by cached selector, by aggregate)."""
    with transaction.atomic():
        _under_lock_timeout()
        totals = StudentMetrics.objects.aggregate(rows=Count("pk"))
        by_aggregate = StudentMetrics.objects.filter(pk=probe_id).values_list("present_count", flat=True).first()
    with transaction.atomic():
        _under_lock_timeout()
        point = student_metrics_get(student_id=probe_id)
    cached = student_metrics(probe_id)  # autocommit: Redis or the view, as a dashboard reads it
    assert point is not None and cached is not None and by_aggregate is not None, "the probe is in the view"
    return totals["rows"], point.present_count, cached.present_count, by_aggregate


def test_concurrent_refreshes_never_fail_or_block_a_reader(private_cache: None) -> None:
    seed_demo(students=DEMO_STUDENTS, seed=11, reset=True)
    probe = StudentFactory.create()
    sessions = [
        ClassSessionFactory.create(session_date=timezone.localdate() - dt.timedelta(days=day))
        for day in range(1, ROUNDS + 1)
    ]
    materialized_view_refresh(concurrently=False)
    students = Student.objects.count()
    shared = Shared()
    observed: dict[int, list[tuple[int, int, int, int]]] = {}
    next_round = iter(range(ROUNDS))
    round_lock = threading.Lock()

    def refresher() -> None:
        while True:
            with round_lock:
                index = next(next_round, None)
                if index is None:
                    return
                AttendanceFactory.create(student=probe, session=sessions[index], status=AttendanceStatus.PRESENT)
            with shared.lock:
                shared.refreshing += 1
            try:
                result = materialized_view_refresh(concurrently=True, wait=True, wait_timeout_s=60)
                assert result.concurrent and result.row_count == students
            finally:
                with shared.lock:
                    shared.refreshing -= 1

    def reader(index: int) -> None:
        seen = observed.setdefault(index, [])
        while not shared.done.is_set():
            during = shared.refreshing > 0
            try:
                seen.append(_read_three_ways(probe.pk))
            except Exception as exc:  # every failed read is a finding, not a crash
                shared.failures.append(f"reader {index}: {type(exc).__name__}: {exc}")
                continue
            if during and shared.refreshing > 0:
                with shared.lock:
                    shared.reads_during_refresh += 1

    def refreshers_then_done() -> None:
        try:
            assert run_in_threads(2, lambda _: refresher(), timeout_s=120) == []
        finally:
            shared.done.set()

    def role(index: int) -> None:
        if index == READERS:
            refreshers_then_done()
        else:
            reader(index)

    errors = run_in_threads(READERS + 1, role, timeout_s=150)

    assert errors == []
    assert shared.failures == []
    assert shared.reads_during_refresh > 0, "readers really read while a refresh was running"
    for index, seen in observed.items():
        assert seen, f"reader {index} read"
        assert {rows for rows, *_ in seen} == {students}, "every read sees the whole view, never a half-built one"
        for name, column in (("point read", 1), ("aggregate", 3)):
            counts = [read[column] for read in seen]
            assert counts == sorted(counts), f"reader {index}'s {name} went back to older data: {counts}"
            assert set(counts) <= set(range(ROUNDS + 1))
        assert {read[2] for read in seen} <= set(range(ROUNDS + 1))
    final = _read_three_ways(probe.pk)
    assert final == (students, ROUNDS, ROUNDS, ROUNDS), "after the last refresh every path sees all presences"
