"""While a concurrent refresh runs, readers in other threads are neither blocked nor failed."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connections, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from attendance.models import AttendanceStatus
from dashboards.models import StudentMetrics
from dashboards.refresh import materialized_view_refresh
from tests.factories import AttendanceFactory, ClassSessionFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)

Session = Callable[..., psycopg.Connection[Any]]


def _read_once() -> tuple[int, int]:
    """Count the view's rows and total presences, failing (not hanging) if a lock is in the way."""
    with transaction.atomic():
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', '1000', true)")
        totals = StudentMetrics.objects.aggregate(rows=Count("pk"), present=Sum("present_count"))
    return totals["rows"], totals["present"] or 0


def _in_threads(count: int, target: Callable[[int], None]) -> None:
    def run(index: int) -> None:
        try:
            target(index)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_readers_are_not_blocked_while_a_concurrent_refresh_is_in_progress(other_session: Session) -> None:
    StudentFactory.create_batch(5)
    materialized_view_refresh()
    refresher = other_session()
    # As the application does: in a system scope, through the owner's refresh function; left uncommitted.
    refresher.execute(
        "SELECT set_config('growthcompass.rls_kind', 'system', true), "
        "gc_refresh_materialized_view('student_metrics_mv_rows', true)"
    )

    results: dict[int, tuple[int, int] | Exception] = {}

    def reader(index: int) -> None:
        try:
            results[index] = _read_once()
        except Exception as exc:
            results[index] = exc

    _in_threads(4, reader)
    refresher.rollback()
    assert results == {i: (5, 0) for i in range(4)}


def test_a_plain_refresh_in_progress_does_block_readers(other_session: Session) -> None:
    """The contrast that shows the test above would notice blocking."""
    StudentFactory.create_batch(2)
    materialized_view_refresh()
    refresher = other_session()
    # ACCESS EXCLUSIVE until commit.
    refresher.execute(
        "SELECT set_config('growthcompass.rls_kind', 'system', true), "
        "gc_refresh_materialized_view('student_metrics_mv_rows', false)"
    )

    errors: list[Exception] = []

    def reader(index: int) -> None:
        try:
            _read_once()
        except OperationalError as exc:
            errors.append(exc)

    _in_threads(1, reader)
    refresher.rollback()
    assert len(errors) == 1 and "lock timeout" in str(errors[0])


def test_readers_see_whole_refreshes_only_while_refreshes_repeat() -> None:
    students = StudentFactory.create_batch(30)
    sessions = [
        ClassSessionFactory.create(session_date=timezone.localdate() - dt.timedelta(days=day)) for day in range(1, 9)
    ]
    materialized_view_refresh()
    refreshes_done = threading.Event()
    observed: dict[int, list[tuple[int, int]]] = {}
    failures: list[Exception] = []

    def reader(index: int) -> None:
        seen = observed.setdefault(index, [])
        try:
            while not refreshes_done.is_set():
                seen.append(_read_once())
            seen.append(_read_once())
        except Exception as exc:
            failures.append(exc)

    def refresher() -> None:
        try:
            for session in sessions:
                AttendanceFactory.create(student=students[0], session=session, status=AttendanceStatus.PRESENT)
                materialized_view_refresh(concurrently=True)
        finally:
            refreshes_done.set()

    readers = threading.Thread(target=lambda: _in_threads(4, reader))
    readers.start()
    try:
        refresher()
    finally:
        readers.join()

    assert failures == []
    for seen in observed.values():
        assert seen, "every reader read"
        assert {rows for rows, _ in seen} == {30}
        presences = [present for _, present in seen]
        assert presences == sorted(presences), "a reader never goes back to older data"
        assert set(presences) <= set(range(len(sessions) + 1))
        assert presences[-1] == len(sessions)
