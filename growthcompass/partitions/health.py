"""The ``partitions`` health check: the coming months exist, the DEFAULT partitions are empty, no gaps."""

from __future__ import annotations

import itertools

from django.db import connection
from django.utils import timezone

from growthcompass.health import CheckResult, register
from growthcompass.partitions import registered_tables
from growthcompass.partitions.catalog import is_partitioned, partitions
from growthcompass.partitions.config import periods_ahead
from growthcompass.partitions.maintenance import retention_start
from growthcompass.partitions.periods import add_months, month_of, month_start, months


def table_problems(table_name: str) -> list[str]:
    """What is wrong with one registered table's partitions (empty: nothing)."""
    from growthcompass.partitions import get

    table = get(table_name)
    now = timezone.now()
    problems: list[str] = []
    with connection.cursor() as cursor:
        if not is_partitioned(cursor, table.table):
            return [f"{table.table} is not partitioned (run migrate)"]
        existing = partitions(cursor, table.table)
        bounded = [partition for partition in existing if not partition.is_default]
        default = next((partition for partition in existing if partition.is_default), None)
        current = month_of(now)
        missing = [
            month
            for month in months(current, add_months(current, periods_ahead()))
            if not any(p.covers(month_start(month), month_start(add_months(month, 1))) for p in bounded)
        ]
        if missing:
            problems.append(
                f"{table.table}: no partition for {', '.join(f'{m:%Y-%m}' for m in missing)} (run partitions_maintain)"
            )
        if default is None:
            problems.append(f"{table.table}: no DEFAULT partition")
        else:
            # Through the owner's function: the application role has no privilege on partitions.
            cursor.execute("SELECT partition_row_count(%s::regclass)", [default.name])
            row = cursor.fetchone()
            waiting = int(row[0]) if row else 0
            if waiting:
                problems.append(
                    f"{table.table}: {waiting} rows in {default.name} (run partitions_maintain; rows older than"
                    " retention go with the table's prune)"
                )
        oldest_kept = retention_start(table, now=now)
        kept_from = month_start(oldest_kept) if oldest_kept is not None else None
        for before, after in itertools.pairwise(bounded):
            if before.upper is None or after.lower is None or before.upper >= after.lower:
                continue
            if kept_from is not None and after.lower <= kept_from:
                continue  # a gap retention has already given up
            problems.append(f"{table.table}: gap from {before.upper:%Y-%m-%d} to {after.lower:%Y-%m-%d}")
    return problems


@register("partitions")
def partitions_check() -> CheckResult:
    tables = [table.table for table in registered_tables()]
    problems = [problem for table in tables for problem in table_problems(table)]
    if problems:
        return CheckResult(name="partitions", ok=False, detail="; ".join(problems), data={"problems": problems})
    return CheckResult(
        name="partitions",
        ok=True,
        detail=f"{len(tables)} partitioned tables: the next {periods_ahead()} months exist, DEFAULT partitions empty",
        data={"tables": tables},
    )
