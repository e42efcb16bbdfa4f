"""Refreshing the views: one at a time, recorded, and the staleness helper."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.utils import timezone

from dashboards.models import StudentMetrics, ViewRefresh
from dashboards.refresh import (
    MATERIALIZED_VIEWS,
    RefreshAlreadyRunning,
    materialized_view_refresh,
    refresh_lock_key,
    view_age,
    view_last_refresh,
)
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

Session = Callable[..., psycopg.Connection[Any]]


def _hold_refresh_lock(other_session: Session) -> psycopg.Connection[Any]:
    holder = other_session()
    holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", refresh_lock_key("student_metrics_mv"))
    return holder


def _server_pid(holder: psycopg.Connection[Any]) -> int:
    """The server backend running the holder's open transaction (behind PgBouncer, ``info.backend_pid`` is its own)."""
    row = holder.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_refresh_is_recorded_with_duration_rows_and_how_it_ran() -> None:
    StudentFactory.create_batch(3)
    result = materialized_view_refresh(concurrently=False)

    record = ViewRefresh.objects.latest("finished_at")
    assert (record.view_name, record.row_count, record.concurrent, record.source, record.succeeded) == (
        "student_metrics_mv",
        3,
        False,
        "api",
        True,
    )
    assert record.finished_at >= record.started_at
    assert record.duration_ms == pytest.approx(result.duration_ms)
    assert result.row_count == StudentMetrics.objects.count() == 3


def test_view_age_is_the_time_since_the_last_successful_refresh() -> None:
    ViewRefresh.objects.all().delete()
    assert view_age() is None

    materialized_view_refresh()
    last = view_last_refresh()
    assert last is not None
    later = last.finished_at + dt.timedelta(minutes=90)
    assert view_age(now=later) == dt.timedelta(minutes=90)

    # A failed refresh does not make the data any younger.
    ViewRefresh.objects.create(
        view_name="student_metrics_mv",
        started_at=later,
        finished_at=later,
        duration_ms=1.0,
        concurrent=True,
        source="api",
        succeeded=False,
        error="boom",
    )
    assert view_last_refresh() == last


def test_a_never_populated_view_is_refreshed_plainly_instead_of_concurrently() -> None:
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW student_metrics_mv WITH NO DATA")
    result = materialized_view_refresh(concurrently=True)
    assert result.concurrent is False
    assert StudentMetrics.objects.count() == result.row_count  # readable again


def test_second_refresh_exits_with_the_holder_named(other_session: Session) -> None:
    holder_pid = _server_pid(_hold_refresh_lock(other_session))
    with pytest.raises(RefreshAlreadyRunning, match=rf"already running by backend pid {holder_pid}"):
        materialized_view_refresh()
    assert not ViewRefresh.objects.filter(source="api").exists()


def test_second_refresh_with_wait_gives_up_after_the_timeout(other_session: Session) -> None:
    _hold_refresh_lock(other_session)
    with pytest.raises(RefreshAlreadyRunning, match=r"still running after waiting 0\.2 s"):
        materialized_view_refresh(wait=True, wait_timeout_s=0.2)


def test_second_refresh_with_wait_runs_once_the_first_finishes(other_session: Session) -> None:
    students = StudentFactory.create_batch(2)
    holder = _hold_refresh_lock(other_session)
    release = threading.Timer(0.3, holder.rollback)
    release.start()
    try:
        result = materialized_view_refresh(wait=True)
    finally:
        release.join()
    # It refreshed (not skipped): the students created before it are in the view.
    assert {s.pk for s in students} <= set(StudentMetrics.objects.values_list("student_id", flat=True))
    assert result.row_count == StudentMetrics.objects.count()


def test_other_views_locks_do_not_block_this_one(other_session: Session) -> None:
    holder = other_session()
    holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", refresh_lock_key("some_other_view"))
    assert materialized_view_refresh().view == "student_metrics_mv"


def test_unknown_view_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown materialized view 'students'"):
        materialized_view_refresh(view="students")


def test_failed_refresh_is_recorded_and_raised() -> None:
    with connection.cursor() as cursor:
        # Rolled back with the test: without its unique index the view cannot refresh concurrently.
        cursor.execute("DROP INDEX student_metrics_mv_id_uniq")
    with pytest.raises(DatabaseError, match="cannot refresh materialized view"):
        materialized_view_refresh(concurrently=True)
    record = ViewRefresh.objects.latest("finished_at")
    assert record.succeeded is False
    assert "cannot refresh materialized view" in record.error
    assert record.row_count is None


# --- the command ------------------------------------------------------------------


def test_command_prints_duration_and_rows_per_view() -> None:
    StudentFactory.create_batch(2)
    out = io.StringIO()
    call_command("refresh_views", stdout=out)
    lines = out.getvalue().splitlines()
    # Every view, in MATERIALIZED_VIEWS order: the metrics view first, then the dashboard's summaries.
    assert [line.split(":")[0] for line in lines] == list(MATERIALIZED_VIEWS)
    assert lines[0].startswith("student_metrics_mv: refreshed (concurrently) in ")
    assert lines[0].endswith(", 2 rows")
    assert ViewRefresh.objects.latest("finished_at").source == "command"


def test_command_no_concurrently_and_json() -> None:
    out = io.StringIO()
    call_command("refresh_views", "--view", "student_metrics_mv", "--no-concurrently", "--json", stdout=out)
    [result] = json.loads(out.getvalue())
    assert result["view"] == "student_metrics_mv"
    assert result["concurrent"] is False
    assert result["source"] == "command"
    assert dt.datetime.fromisoformat(result["finished_at"]) <= timezone.now()


def test_command_exits_with_a_clear_message_while_another_refresh_runs(other_session: Session) -> None:
    holder_pid = _server_pid(_hold_refresh_lock(other_session))
    with pytest.raises(CommandError, match=rf"already running by backend pid {holder_pid}.*--wait"):
        call_command("refresh_views")


def test_command_rejects_unknown_views() -> None:
    with pytest.raises(CommandError, match="invalid choice: 'nope'"):
        call_command("refresh_views", "--view", "nope")
