"""Helpers for the partition tests: months relative to now, partitions of audit_log made on demand."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from growthcompass.partitions import get
from growthcompass.partitions.catalog import Partition, partitions
from growthcompass.partitions.ddl import create_partition
from growthcompass.partitions.periods import add_months, month_of, month_start


def month(offset: int) -> dt.date:
    """The first day of the month ``offset`` months from now."""
    return add_months(month_of(timezone.now()), offset)


def inside(offset: int, days: int = 10) -> dt.datetime:
    """A moment ``days`` days into the month ``offset`` months from now."""
    return month_start(month(offset)) + dt.timedelta(days=days)


def audit_partitions() -> list[Partition]:
    with connection.cursor() as cursor:
        return partitions(cursor, "audit_log")


def names() -> set[str]:
    return {partition.name for partition in audit_partitions()}


def make_month_partition(offset: int) -> str:
    """Create audit_log's partition for the month ``offset`` months from now (through the one function)."""
    table = get("audit_log")
    first = month(offset)
    name = table.partition_name(first)
    with connection.cursor() as cursor:
        create_partition(cursor, table, lower=month_start(first), upper=month_start(add_months(first, 1)), name=name)
    return name


def rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])
