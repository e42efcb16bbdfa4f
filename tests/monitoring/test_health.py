"""Health checks and manage.py healthcheck: clear failures, answers in seconds when a server is down."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings
from django.utils import timezone

from dashboards.health import materialized_views_check
from dashboards.models import ViewRefresh
from dashboards.refresh import MATERIALIZED_VIEWS, materialized_view_refresh
from growthcompass.health import CheckResult, human_duration, register, registered_checks
from growthcompass.health.database import (
    check_primary,
    check_replica,
    database_check,
    replica_check,
    unapplied_migrations_check,
)
from growthcompass.health.parallel import run_checks_in_parallel
from tests.monitoring.conftest import extra_alias

pytestmark = pytest.mark.django_db


def test_my_checks_are_registered() -> None:
    assert {"database", "replica", "unapplied_migrations", "materialized_views"} <= set(registered_checks())


def test_primary_reports_its_round_trip() -> None:
    result = database_check()
    assert result.ok, result.detail
    assert result.detail.startswith("round trip ")
    assert result.data["round_trip_ms"] > 0 and result.data["connect_ms"] >= 0


def test_primary_that_is_down_fails_at_once(closed_port: int) -> None:
    with extra_alias("down", HOST="127.0.0.1", PORT=str(closed_port)):
        result = check_primary("down")
    assert not result.ok
    assert result.detail.startswith(f"primary database 127.0.0.1:{closed_port}/")
    assert "unreachable" in result.detail


@override_settings(HEALTH_TIMEOUT_S=2)
def test_primary_that_hangs_fails_after_the_connect_timeout(silent_server: int) -> None:
    with extra_alias("hung", HOST="127.0.0.1", PORT=str(silent_server)):
        result = check_primary("hung")
    assert not result.ok
    assert "unreachable" in result.detail and "timeout" in result.detail


def test_replica_is_optional() -> None:
    result = replica_check()
    assert result.ok and result.data == {"configured": False}


def test_a_replica_that_is_really_a_primary_fails() -> None:
    with extra_alias("fake_replica"):
        result = check_replica("fake_replica")
    assert not result.ok
    assert result.detail.endswith("is not in recovery: it is a primary")


def test_a_replica_that_is_down_fails(closed_port: int) -> None:
    with extra_alias("replica_down", HOST="127.0.0.1", PORT=str(closed_port)):
        result = check_replica("replica_down")
    assert not result.ok and "unreachable" in result.detail


@pytest.mark.django_db(transaction=True)
def test_unapplied_migrations_are_named(as_table_owner: None) -> None:
    # Only the owner writes django_migrations; the test commits, so it records the migration again.
    assert unapplied_migrations_check().ok
    # A leaf migration: with an earlier one unrecorded, the plan from the applied leaf would not show it.
    (_, leaf), *_ = MigrationLoader(connection).graph.leaf_nodes("auditing")
    MigrationRecorder.Migration.objects.filter(app="auditing", name=leaf).delete()
    try:
        result = unapplied_migrations_check()
    finally:
        MigrationRecorder(connection).record_applied("auditing", leaf)
    assert not result.ok
    assert result.detail == f"1 unapplied migration(s): auditing.{leaf}; run manage.py migrate"


def test_view_staleness_over_the_limit_fails() -> None:
    for view in MATERIALIZED_VIEWS:  # the check covers every view, the dashboard's summaries too
        materialized_view_refresh(view=view)
    assert materialized_views_check().ok

    ViewRefresh.objects.update(finished_at=timezone.now() - dt.timedelta(hours=2, minutes=5))
    with override_settings(VIEWS_MAX_AGE_S=3600):
        result = materialized_views_check()
    assert not result.ok
    assert result.detail.startswith("student_metrics_mv is 2 h 5 min old (limit 1 h 0 min;")


@pytest.mark.django_db(transaction=True)
def test_a_view_never_refreshed_or_not_populated_fails(as_table_owner: None) -> None:
    # Only the owner may empty the stored view; the test refreshes it again at the end.
    ViewRefresh.objects.all().delete()
    assert "has no recorded refresh" in materialized_views_check().detail
    materialized_view_refresh()
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW student_metrics_mv_rows WITH NO DATA")
    assert "is not populated" in materialized_views_check().detail
    materialized_view_refresh()


def test_durations_read_like_a_person_wrote_them() -> None:
    assert [human_duration(s) for s in (5, 95, 7300, 200_000)] == ["5 s", "1 min 35 s", "2 h 1 min", "2 days 7 h"]


# --- running them together ---------------------------------------------------------


@pytest.fixture
def temporary_checks() -> Iterator[dict[str, threading.Event]]:
    """Register checks for one test: ``ok``, ``broken`` and ``hangs`` (until its event is set)."""
    from growthcompass.health import _REGISTRY

    saved = dict(_REGISTRY)
    release = threading.Event()

    register("test_ok")(lambda: CheckResult("test_ok", True, "fine"))
    register("test_broken")(lambda: CheckResult("test_broken", False, "the widget is off"))

    def raises() -> CheckResult:
        raise ConnectionError("no route to widget")

    def hangs() -> CheckResult:
        release.wait(30)
        return CheckResult("test_hangs", True, "late")

    register("test_raises")(raises)
    register("test_hangs")(hangs)
    yield {"release": release}
    release.set()
    _REGISTRY.clear()
    _REGISTRY.update(saved)


def test_a_check_that_hangs_is_reported_at_the_deadline(temporary_checks: dict[str, threading.Event]) -> None:
    results = run_checks_in_parallel(["test_ok", "test_hangs"], timeout_s=0.3)
    assert [(r.name, r.ok, r.detail) for r in results] == [
        ("test_ok", True, "fine"),
        ("test_hangs", False, "no answer within 0.3 s"),
    ]


def test_command_prints_one_line_per_failure_and_exits_non_zero(
    temporary_checks: dict[str, threading.Event],
) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="3 of 4 health checks failed") as excinfo:
        call_command(
            "healthcheck",
            *("--check", "test_ok", "--check", "test_broken", "--check", "test_raises", "--check", "test_hangs"),
            "--timeout",
            "0.3",
            stdout=out,
        )
    assert excinfo.value.returncode == 1
    assert out.getvalue().splitlines() == [
        "FAIL test_broken: the widget is off",
        "FAIL test_raises: ConnectionError: no route to widget",
        "FAIL test_hangs: no answer within 0.3 s",
    ]


def test_command_json_lists_every_check(temporary_checks: dict[str, threading.Event]) -> None:
    out = io.StringIO()
    call_command("healthcheck", "--check", "test_ok", "--check", "database", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == ["test_ok", "database"]
    assert report["checks"][1]["data"]["round_trip_ms"] > 0


def test_command_when_healthy_prints_each_check_and_exits_zero(temporary_checks: dict[str, threading.Event]) -> None:
    out = io.StringIO()
    call_command("healthcheck", "--check", "test_ok", "--check", "replica", stdout=out)
    assert re.fullmatch(r"ok   test_ok: fine \[\d+ ms\]", out.getvalue().splitlines()[0])
    assert out.getvalue().splitlines()[1].startswith("ok   replica: no replica configured")


def test_command_refuses_unknown_checks() -> None:
    with pytest.raises(CommandError, match="Unknown health check"):
        call_command("healthcheck", "--check", "nope")
