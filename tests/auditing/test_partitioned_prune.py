"""audit_prune on the partitioned log: whole months go by partition, what went is recorded."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from auditing.models import AuditLog
from tests.auditing.conftest import insert_entry
from tests.partitions.conftest import inside, make_month_partition, month, names

# Partition maintenance and pruning are DDL on the owner's tables: these tests run as the owner
# (row-level security still applies to it: the tables force it).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]


def _is_table(name: str) -> tuple[bool, bool]:
    """(exists, is a partition)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relispartition FROM pg_class WHERE oid = to_regclass(%s)", [name])
        row = cursor.fetchone()
    return (row is not None, bool(row and row[0]))


@pytest.fixture
def history() -> dict[str, list[int]]:
    """Entries in the partitions of months -15 and -14, one in DEFAULT (month -20), one in month -13."""
    for offset in (-15, -14, -13):
        make_month_partition(offset)
    return {
        "m15": [insert_entry(table_name="terms", changed_at=inside(-15)) for _ in range(3)],
        "m14": [insert_entry(table_name="courses", changed_at=inside(-14))],
        "default": [insert_entry(table_name="terms", changed_at=inside(-20))],
        "m13": [insert_entry(table_name="terms", changed_at=inside(-13))],
    }


def test_prune_drops_whole_months_and_records_partitions_rows_and_ranges(
    history: dict[str, list[int]], staff_user: User
) -> None:
    out = StringIO()
    before = inside(-13, days=12).date().isoformat()  # inside month -13: it stays
    call_command("audit_prune", before=before, as_user=staff_user.username, reason="retention", json=True, stdout=out)

    result = json.loads(out.getvalue())
    assert result["inside_month"] is True and result["cutoff"].startswith(f"{month(-13):%Y-%m-%d}")
    dropped = {p["name"]: p for p in result["partitions"]}
    assert set(dropped) == {f"audit_log_p{month(-15):%Y_%m}", f"audit_log_p{month(-14):%Y_%m}"}
    assert not _is_table(next(iter(dropped)))[0]
    assert not AuditLog.objects.filter(pk__in=history["m15"] + history["m14"] + history["default"]).exists()
    assert AuditLog.objects.filter(pk__in=history["m13"]).count() == 1
    assert result["deleted_rows"] == 1  # the DEFAULT partition's old entry, deleted row by row

    records = AuditLog.objects.filter(pk__in=result["record_ids"]).order_by("id")
    assert len(records) == 2
    for record in records:
        assert (record.table_name, record.operation, record.changed_by_id) == ("audit_log", "DELETE", staff_user.pk)
        assert record.context is not None and record.context["reason"] == "retention"
    partitions_record = records[1].old_data
    assert partitions_record is not None
    assert partitions_record["rows"] == 4 and partitions_record["tables"] == {"courses": 1, "terms": 3}
    assert {p["name"] for p in partitions_record["partitions"]} == set(dropped)
    assert partitions_record["partitions"][0]["first_id"] == min(history["m15"])


def test_the_command_says_when_a_cutoff_inside_a_month_keeps_that_month(history: dict[str, list[int]]) -> None:
    out = StringIO()
    call_command("audit_prune", before=inside(-13, days=12).date().isoformat(), dry_run=True, stdout=out)
    text = out.getvalue()
    assert "is inside a month: only whole months go" in text
    assert f"entries before {month(-13):%Y-%m-%d} 00:00" in text
    assert "partitions to be dropped" in text
    assert {f"audit_log_p{month(-15):%Y_%m}", f"audit_log_p{month(-14):%Y_%m}"} <= names()  # dry run


@override_settings(AUDIT_PRUNE_PARTITIONS="detach")
def test_detach_mode_keeps_the_month_as_a_table_outside_the_log(history: dict[str, list[int]]) -> None:
    name = f"audit_log_p{month(-15):%Y_%m}"
    call_command("audit_prune", before=month(-14).isoformat(), stdout=StringIO())

    assert _is_table(name) == (True, False)
    assert not AuditLog.objects.filter(pk__in=history["m15"]).exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {name}")
        assert cursor.fetchone() == (3,)
    # The detached month is still append-only.
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {name}")


def test_year_one_is_printed_with_four_digits() -> None:
    out = StringIO()
    call_command("audit_prune", before="0001-01-01", stdout=out)
    assert "0001-01-01 00:00" in out.getvalue()
    assert " 1-01-01" not in out.getvalue()
