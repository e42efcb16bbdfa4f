"""The partitions health check, and queries filtered by time reading only their partitions."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from auditing.models import AuditLog
from growthcompass.health import run_checks
from growthcompass.partitions import get
from growthcompass.partitions.maintenance import partitions_maintain
from growthcompass.partitions.periods import add_months, month_start
from tests.auditing.conftest import insert_entry
from tests.factories import TermFactory
from tests.partitions.conftest import inside, month

# Partition maintenance and pruning are DDL on the owner's tables: these tests run as the owner
# (row-level security still applies to it: the tables force it).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

TABLE = get("audit_log")


def _check() -> tuple[bool, str]:
    [result] = run_checks(["partitions"])
    return result.ok, result.detail


def test_the_check_passes_on_a_maintained_schema() -> None:
    partitions_maintain()
    ok, detail = _check()
    assert ok, detail


def test_the_check_names_a_missing_month_ahead() -> None:
    partitions_maintain()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE.partition_name(month(2))}")
    ok, detail = _check()
    assert not ok
    assert f"no partition for {month(2):%Y-%m}" in detail


def test_the_check_fails_while_the_default_partition_holds_rows() -> None:
    partitions_maintain()
    insert_entry(changed_at=inside(-50))
    ok, detail = _check()
    assert not ok and "1 rows in audit_log_default" in detail

    partitions_maintain()
    assert "audit_log_default" not in _check()[1]


def test_the_check_names_a_gap_between_partitions() -> None:
    insert_entry(changed_at=inside(-6))
    partitions_maintain()  # creates month -6; months -5 .. -1 have none: a gap
    ok, detail = _check()
    assert not ok
    assert f"gap from {month(-5):%Y-%m-%d} to {month(0):%Y-%m-%d}" in detail


def _plan(query: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_query_for_this_month_reads_only_this_months_partition() -> None:
    TermFactory.create()
    this_month = TABLE.partition_name(month(0))
    start, end = month_start(month(0)), month_start(add_months(month(0), 1))

    plan = _plan(
        "SELECT * FROM audit_log WHERE table_name = %s AND changed_at >= %s AND changed_at < %s", ["terms", start, end]
    )

    assert this_month in plan
    others = [name for name in (TABLE.partition_name(month(1)), "audit_log_default") if name in plan]
    assert others == [], plan


def test_the_orm_filter_by_date_prunes_partitions_too() -> None:
    start = month_start(month(1))
    queryset = AuditLog.objects.filter(changed_at__gte=start, changed_at__lt=month_start(month(2)))
    plan = queryset.explain()
    assert TABLE.partition_name(month(1)) in plan
    assert TABLE.partition_name(month(0)) not in plan and "audit_log_default" not in plan


def test_the_audit_admin_lists_and_shows_entries_of_the_partitioned_log(staff_client: Client) -> None:
    TermFactory.create()
    entry = AuditLog.objects.filter(table_name="terms").latest("id")
    assert staff_client.get("/admin/auditing/auditlog/").status_code == 200
    assert staff_client.get(f"/admin/auditing/auditlog/{entry.pk}/change/").status_code == 200
    history = staff_client.get("/admin/auditing/auditlog/?table_name=terms")
    assert history.status_code == 200 and f"/admin/auditing/auditlog/{entry.pk}/change/" in history.content.decode()
