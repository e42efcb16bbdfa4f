"""Slow statements get their plan captured off the request's path: generic, never for a write, bounded, rate-limited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from growthcompass.db.monitoring import fingerprint
from growthcompass.plans.capture import capturer
from growthcompass.plans.models import CapturedPlan
from tests.factories import StaffUserFactory

WAIT_S = 30.0  # a guard against a hung worker, not a speed limit
# (grade_level + 0): no index serves it, so the plan is a sequential scan whatever the statistics.
SLOW_READ = "SELECT pg_sleep(%s) AS plans_probe, count(*) FROM students WHERE (grade_level + 0) > %s"


@pytest.fixture
def slow_capture(transactional_db: None) -> Iterator[None]:
    """Anything over 5 ms is slow; the rate limits start afresh."""
    capturer.forget_limits()
    with override_settings(SLOW_QUERY_MS=5, PLANS_CAPTURE=True):
        yield
    assert capturer.wait_idle(WAIT_S)
    capturer.forget_limits()


def _run(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _captured() -> dict[str, CapturedPlan]:
    assert capturer.wait_idle(WAIT_S), "the capture worker did not finish"
    return {plan.fingerprint: plan for plan in CapturedPlan.objects.all()}


def test_a_slow_read_gets_its_generic_plan_captured(slow_capture: None) -> None:
    assert not CapturedPlan.objects.exists()

    _run(SLOW_READ, [0.02, 3])

    plan = _captured()[fingerprint(SLOW_READ)[0]]
    assert plan.explained
    assert plan.alias == "default"
    assert plan.slowest_ms >= 20
    assert plan.top_node == "Aggregate"
    assert "Actual Total Time" not in str(plan.plan), "the plan was run with ANALYZE"
    assert "?" in plan.statement and "3" not in plan.template  # no parameter values are kept


def test_off_by_default_under_test_nothing_is_captured(transactional_db: None) -> None:
    with override_settings(SLOW_QUERY_MS=5):
        _run(SLOW_READ, [0.02, 3])

    assert not _captured()


def test_a_statement_under_slow_query_ms_is_not_captured(slow_capture: None) -> None:
    # A threshold no trivial statement reaches, even on a loaded machine; the slow read still does.
    with override_settings(SLOW_QUERY_MS=500):
        _run("SELECT 1 AS plans_probe_fast")
        _run(SLOW_READ, [0.6, 3])

    captured = _captured()
    assert fingerprint(SLOW_READ)[0] in captured
    assert fingerprint("SELECT 1 AS plans_probe_fast")[0] not in captured


def test_a_slow_write_is_recorded_but_never_explained(slow_capture: None) -> None:
    from tests.factories import StudentFactory

    student = StudentFactory.create()
    write = "UPDATE students SET status = status WHERE id = %s AND pg_sleep(%s) IS NOT NULL"

    _run(write, [student.pk, 0.02])

    plan = _captured()[fingerprint(write)[0]]
    assert not plan.explained
    assert plan.plan is None
    assert "writes" in plan.note


@override_settings(QUERY_LARGE_TABLE_ROWS=0)
def test_a_sequential_scan_of_a_large_table_is_flagged(slow_capture: None) -> None:
    _run(SLOW_READ, [0.02, 3])

    plan = _captured()[fingerprint(SLOW_READ)[0]]
    assert any("sequential scan on students" in finding for finding in plan.findings), plan.findings


def test_a_statement_is_explained_once_within_the_recapture_interval(slow_capture: None) -> None:
    _run(SLOW_READ, [0.02, 3])
    first = _captured()[fingerprint(SLOW_READ)[0]].captured_at

    _run(SLOW_READ, [0.03, 4])

    assert _captured()[fingerprint(SLOW_READ)[0]].captured_at == first


@override_settings(PLANS_MAX_ROWS=2)
def test_the_captured_plans_are_bounded(slow_capture: None) -> None:
    for n in range(3):
        _run(f"SELECT pg_sleep(%s) AS plans_probe_bound_{n}", [0.01])

    captured = _captured()

    assert len(captured) == 2
    assert fingerprint("SELECT pg_sleep(%s) AS plans_probe_bound_2")[0] in captured


@override_settings(PLANS_MAX_PER_MINUTE=1)
def test_explains_per_minute_are_limited(slow_capture: None) -> None:
    _run("SELECT pg_sleep(%s) AS plans_probe_rate_a", [0.01])
    _run("SELECT pg_sleep(%s) AS plans_probe_rate_b", [0.01])

    assert len(_captured()) == 1


@override_settings(QUERY_LARGE_TABLE_ROWS=0)
def test_query_report_plans_lists_the_captured_plans_with_their_findings(slow_capture: None) -> None:
    _run(SLOW_READ, [0.02, 3])
    _captured()

    from io import StringIO

    out = StringIO()
    call_command("query_report", "--plans", "--local", stdout=out)
    text = out.getvalue()
    as_json = StringIO()
    call_command("query_report", "--plans", "--local", "--json", stdout=as_json)

    assert fingerprint(SLOW_READ)[0] in text
    assert "sequential scan on students" in text
    plans = json.loads(as_json.getvalue())["captured_plans"]
    assert fingerprint(SLOW_READ)[0] in [p["fingerprint"] for p in plans]


def test_the_admin_page_of_captured_plans_is_read_only(slow_capture: None) -> None:
    _run(SLOW_READ, [0.02, 3])
    plan = _captured()[fingerprint(SLOW_READ)[0]]
    staff: User = StaffUserFactory.create(is_superuser=True)
    client = Client()
    client.force_login(staff)

    assert client.get("/admin/gc_plans/capturedplan/").status_code == 200
    detail = client.get(f"/admin/gc_plans/capturedplan/{plan.pk}/change/")
    assert detail.status_code == 200
    assert b"Aggregate" in detail.content
    assert client.get("/admin/gc_plans/capturedplan/add/").status_code == 403
    assert client.post(f"/admin/gc_plans/capturedplan/{plan.pk}/delete/", {"post": "yes"}).status_code == 403
    assert CapturedPlan.objects.filter(pk=plan.pk).exists()
