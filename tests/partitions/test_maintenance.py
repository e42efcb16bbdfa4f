"""partitions_maintain: partitions ahead, DEFAULT healed in one run, retention respected, one run at a time."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from auditing.models import AuditLog
from growthcompass.partitions import get
from growthcompass.partitions.maintenance import MAINTENANCE_LOCK_KEY, partitions_maintain
from tests.auditing.conftest import insert_entry
from tests.db_roles import other_connection, owner_connection
from tests.partitions.conftest import inside, month, names, rows_in

# Partition maintenance and pruning are DDL on the owner's tables: these tests run as the owner
# (row-level security still applies to it: the tables force it).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]

TABLE = get("audit_log")


def test_the_migrated_audit_log_has_this_month_the_months_ahead_and_a_default() -> None:
    expected = {TABLE.partition_name(month(offset)) for offset in range(0, 4)} | {"audit_log_default"}
    assert expected <= names()


@override_settings(PARTITIONS_AHEAD=6)
def test_maintain_creates_the_months_ahead_once() -> None:
    wanted = {TABLE.partition_name(month(offset)) for offset in (4, 5, 6)}
    assert not wanted & names()

    first = partitions_maintain()
    second = partitions_maintain()

    assert wanted <= names()
    assert {p.name for plan in first.tables if plan.table == "audit_log" for p in plan.create} == wanted
    assert second.created == 0


@override_settings(PARTITIONS_AHEAD=5)
def test_dry_run_says_what_it_would_create_and_creates_nothing() -> None:
    out = StringIO()
    call_command("partitions_maintain", dry_run=True, json=True, stdout=out)

    result = json.loads(out.getvalue())
    planned = [p["name"] for table in result["tables"] if table["table"] == "audit_log" for p in table["create"]]
    assert planned == [TABLE.partition_name(month(4)), TABLE.partition_name(month(5))]
    assert not set(planned) & names()


def test_maintain_heals_the_default_partition_in_one_run() -> None:
    ids = [insert_entry(changed_at=inside(-14)) for _ in range(2)] + [insert_entry(changed_at=inside(-20))]
    assert rows_in("audit_log_default") >= 3

    result = partitions_maintain()

    assert rows_in("audit_log_default") == 0
    created = {p.name: p.rows_from_default for plan in result.tables for p in plan.create}
    assert created[TABLE.partition_name(month(-14))] >= 2
    assert TABLE.partition_name(month(-20)) in created
    assert AuditLog.objects.filter(pk__in=ids).count() == 3  # moved, not lost
    assert rows_in(TABLE.partition_name(month(-14))) >= 2


def test_a_partition_made_by_maintenance_keeps_the_log_append_only_and_unforgeable() -> None:
    insert_entry(changed_at=inside(-30))
    partitions_maintain()
    partition = TABLE.partition_name(month(-30))
    assert partition in names()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {partition}")
    with pytest.raises(IntegrityError, match="written by the audit triggers only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {partition} (table_name, operation, changed_at, db_role, application_name,"
                " transaction_id) VALUES ('terms', 'INSERT', %s, 'x', 'x', 0)",
                [inside(-30)],
            )
    assert rows_in(partition) == 1


@override_settings(AUDIT_RETENTION_MONTHS=6)
def test_after_an_outage_only_the_partitions_retention_keeps_are_created() -> None:
    kept = insert_entry(changed_at=inside(-3))
    insert_entry(changed_at=inside(-12))

    out = StringIO()
    call_command("partitions_maintain", stdout=out)

    assert TABLE.partition_name(month(-3)) in names()
    assert TABLE.partition_name(month(-12)) not in names()
    assert rows_in("audit_log_default") == 1
    assert "1 rows in the DEFAULT partition are older than retention" in out.getvalue()
    assert AuditLog.objects.filter(pk=kept).exists()


def test_a_second_run_while_one_holds_the_lock_does_nothing() -> None:
    insert_entry(changed_at=inside(-40))
    # A session of its own (behind a transaction pooler, the direct route): a session advisory lock
    # taken through the pooler stays on its server connection after this client closes.
    other = other_connection()
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [MAINTENANCE_LOCK_KEY])
        out = StringIO()
        call_command("partitions_maintain", stdout=out)
    finally:
        other.close()

    assert "Another partitions_maintain is running; nothing done." in out.getvalue()
    assert TABLE.partition_name(month(-40)) not in names()
    assert rows_in("audit_log_default") == 1


def test_maintain_on_a_current_schema_says_so() -> None:
    partitions_maintain()
    out = StringIO()
    call_command("partitions_maintain", stdout=out)
    assert "Partitions are current; nothing to do." in out.getvalue()


def test_the_command_heals_the_default_partition_with_no_fallback_scope(settings: Any) -> None:
    """With no fallback scope (as an application runs), the command still heals the DEFAULT partition."""
    ids = [insert_entry(changed_at=inside(-16)) for _ in range(2)]
    settings.RLS_FALLBACK_CONTEXT = None

    call_command("partitions_maintain", "--json", stdout=StringIO())

    settings.RLS_FALLBACK_CONTEXT = "system"
    assert rows_in("audit_log_default") == 0
    assert rows_in(TABLE.partition_name(month(-16))) >= 2
    assert AuditLog.objects.filter(pk__in=ids).count() == 2


def test_cover_creates_the_missing_months_of_a_range_once_and_leaves_the_session_settings() -> None:
    from growthcompass.partitions.maintenance import partitions_cover

    table = get("attendances")
    wanted = {table.partition_name(month(offset)) for offset in (-3, -2, -1)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), current_setting('lock_timeout')")
        before = cursor.fetchone()
    assert not wanted & {p.name for p in _attendance_partitions()}

    created = partitions_cover(table="attendances", first=month(-3), last=month(0))

    assert set(created) == wanted  # this month's existed already
    assert wanted <= {p.name for p in _attendance_partitions()}
    assert partitions_cover(table="attendances", first=month(-3), last=month(0)) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), current_setting('lock_timeout')")
        assert cursor.fetchone() == before


def _attendance_partitions() -> list[Any]:
    from growthcompass.partitions.catalog import partitions

    with connection.cursor() as cursor:
        return partitions(cursor, "attendances")


@override_settings(PARTITIONS_AHEAD=8, PARTITIONS_LOCK_TIMEOUT_MS=200)
def test_a_lock_not_granted_in_time_is_one_line_and_changes_nothing() -> None:
    before = names()
    with owner_connection() as other, other.transaction():
        other.execute("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(CommandError) as refused:
            call_command("partitions_maintain", stdout=StringIO())
    assert str(refused.value) == (
        "A lock on a partitioned table was not granted within 200 ms (PARTITIONS_LOCK_TIMEOUT_MS); "
        "nothing was changed. Run it again."
    )
    assert names() == before
