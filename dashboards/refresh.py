"""Refreshing the materialized views and telling callers how old they are.

* ``materialized_view_refresh`` -- one refresh of a whitelisted materialized
  view, serialised per view by a transaction-level advisory lock and recorded
  in ``ViewRefresh`` (the ``refresh_views`` command is a shell around it).
* ``view_last_refresh`` / ``view_age`` -- the staleness helper: how old the
  numbers a view serves are.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, OperationalError, connections, transaction
from django.utils import timezone
from psycopg import sql

from dashboards.models import (
    ATTENDANCE_WEEKLY_VIEW,
    FEEDBACK_TREND_VIEW,
    STUDENT_METRICS_VIEW,
    ViewRefresh,
    stored_view,
)

__all__ = [
    "MATERIALIZED_VIEWS",
    "RefreshAlreadyRunning",
    "RefreshResult",
    "materialized_view_refresh",
    "refresh_lock_key",
    "view_age",
    "view_last_refresh",
]

# The only views refresh_views may touch: names reach SQL through this whitelist.
MATERIALIZED_VIEWS: dict[str, str] = {
    STUDENT_METRICS_VIEW: "per-student attendance, enrolment and feedback metrics for the dashboards",
    ATTENDANCE_WEEKLY_VIEW: "attendance counts per term, week and grade, for the school dashboard's weekly chart",
    FEEDBACK_TREND_VIEW: "each student's latest feedback scores against their earlier ones, for the at-risk list",
}

# First key of the two-int advisory lock ("gcRV"); the second is derived from
# the view's name, so refreshes of different views never wait for each other.
REFRESH_LOCK_NAMESPACE = 0x67635256


class RefreshAlreadyRunning(Exception):
    """Another session holds the refresh lock of this view (and we did not, or could no longer, wait)."""


@dataclass(frozen=True)
class RefreshResult:
    view: str
    started_at: dt.datetime
    finished_at: dt.datetime
    duration_ms: float
    row_count: int
    concurrent: bool
    source: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        return data


def refresh_lock_key(view: str) -> tuple[int, int]:
    """The ``pg_advisory_xact_lock(int, int)`` key that serialises refreshes of ``view``."""
    return REFRESH_LOCK_NAMESPACE, zlib.crc32(view.encode()) & 0x7FFFFFFF


def _check_view(view: str) -> None:
    if view not in MATERIALIZED_VIEWS:
        raise ValueError(f"Unknown materialized view {view!r}; known: {', '.join(MATERIALIZED_VIEWS)}")


def _lock_holder(cursor: Any, key: tuple[int, int]) -> str:
    """Describe the backend holding ``key``, for the "already running" message."""
    cursor.execute(
        """
        SELECT l.pid, a.xact_start
          FROM pg_locks l
          LEFT JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.classid = %s::oid AND l.objid = %s::oid
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         LIMIT 1
        """,
        list(key),
    )
    row = cursor.fetchone()
    if row is None:
        return "by another session"
    pid, started = row
    since = f", running since {started:%Y-%m-%d %H:%M:%S %Z}" if started else ""
    return f"by backend pid {pid}{since}"


def materialized_view_refresh(
    *,
    view: str = STUDENT_METRICS_VIEW,
    concurrently: bool = True,
    wait: bool = False,
    wait_timeout_s: float | None = None,
    source: str = ViewRefresh.Source.API,
    using: str = "default",
) -> RefreshResult:
    """Refresh ``view`` and record the refresh; return its duration and row count.

    ``concurrently`` keeps readers unblocked (PostgreSQL builds the new
    contents beside the old and swaps in the differences) at roughly twice the
    cost of a plain refresh, which holds an ACCESS EXCLUSIVE lock throughout.
    A view that was never populated cannot be refreshed concurrently, so that
    case falls back to a plain refresh (and is recorded as such).

    Only one refresh of a view runs at a time. When another is running this
    raises ``RefreshAlreadyRunning`` at once, or with ``wait`` queues behind it
    (for at most ``wait_timeout_s`` seconds when given).

    "Today" and the dates of timestamps are taken in ``settings.TIME_ZONE``, so
    the view counts school days, not UTC days.
    """
    _check_view(view)
    key = refresh_lock_key(view)
    connection = connections[using]
    started_at = timezone.now()
    started = time.perf_counter()
    concurrent = concurrently
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('TimeZone', %s, true), set_config('statement_timeout', %s, true)",
                [settings.TIME_ZONE, str(settings.VIEWS_REFRESH_STATEMENT_TIMEOUT_MS)],
            )
            _acquire_refresh_lock(cursor, view, key, wait=wait, wait_timeout_s=wait_timeout_s)
            cursor.execute("SELECT ispopulated FROM pg_matviews WHERE matviewname = %s", [stored_view(view)])
            row = cursor.fetchone()
            if row is None:
                raise DatabaseError(f"materialized view {view} does not exist; run manage.py migrate")
            concurrent = concurrently and bool(row[0])
            # The application role owns no view: the owner's function refreshes (sees-all scopes only).
            cursor.execute("SELECT gc_refresh_materialized_view(%s, %s)", [stored_view(view), concurrent])
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(view)).as_string())
            row_count = int(cursor.fetchone()[0])
    except RefreshAlreadyRunning:
        raise
    except Exception as exc:
        _record(view, started_at, started, None, concurrent, source, using, error=f"{type(exc).__name__}: {exc}")
        raise
    return _record(view, started_at, started, row_count, concurrent, source, using)


def _acquire_refresh_lock(
    cursor: Any, view: str, key: tuple[int, int], *, wait: bool, wait_timeout_s: float | None
) -> None:
    if not wait:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", list(key))
        if not cursor.fetchone()[0]:
            raise RefreshAlreadyRunning(
                f"A refresh of {view} is already running {_lock_holder(cursor, key)}; not started "
                "(wait for it with --wait)."
            )
        return
    timeout_ms = 0 if wait_timeout_s is None else max(1, round(wait_timeout_s * 1000))
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [str(timeout_ms)])
    try:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(key))
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise RefreshAlreadyRunning(
                f"A refresh of {view} was still running after waiting {wait_timeout_s:g} s; not started."
            ) from exc
        raise
    # The wait is over; the refresh's own locks must not inherit the short timeout.
    cursor.execute("SELECT set_config('lock_timeout', '0', true)")


def _record(
    view: str,
    started_at: dt.datetime,
    started: float,
    row_count: int | None,
    concurrent: bool,
    source: str,
    using: str,
    *,
    error: str = "",
) -> RefreshResult:
    duration_ms = (time.perf_counter() - started) * 1000
    finished_at = timezone.now()
    ViewRefresh.objects.using(using).create(
        view_name=view,
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=duration_ms,
        row_count=row_count,
        concurrent=concurrent,
        source=source,
        succeeded=not error,
        error=error[:2000],
    )
    return RefreshResult(
        view=view,
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=duration_ms,
        row_count=row_count or 0,
        concurrent=concurrent,
        source=str(source),
    )


def view_last_refresh(view: str = STUDENT_METRICS_VIEW, *, using: str = "default") -> ViewRefresh | None:
    """The latest successful refresh of ``view`` (the migration that created it counts), or ``None``."""
    _check_view(view)
    return ViewRefresh.objects.using(using).filter(view_name=view, succeeded=True).order_by("-finished_at").first()


def view_age(
    view: str = STUDENT_METRICS_VIEW, *, now: dt.datetime | None = None, using: str = "default"
) -> dt.timedelta | None:
    """How old the data served by ``view`` is; ``None`` when no refresh was ever recorded."""
    last = view_last_refresh(view, using=using)
    if last is None:
        return None
    return (now or timezone.now()) - last.finished_at
