"""``partitions_maintain``: the partitions of the coming months, and the DEFAULT partition emptied.

One run, for every registered table, in one transaction:

- creates the partition of the current month and of the ``PARTITIONS_AHEAD``
  months after it, when missing;
- heals the DEFAULT partition: for each month that has rows there, creates
  that month's partition and moves the rows into it (``create_partition``);
- creates nothing older than the table's retention: after an outage, months
  that retention would drop at once get no partition; their rows, if any, stay
  in the DEFAULT partition and are reported (the audit log's ``audit_prune``
  removes them).

Idempotent (a second run finds nothing to do) and safe from cron: a
transaction-level advisory lock makes a concurrent run skip instead of racing,
and every lock the DDL needs is waited for at most ``PARTITIONS_LOCK_TIMEOUT_MS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg import sql

from growthcompass.db.roles import as_owner_outside_transactions
from growthcompass.partitions import PartitionedTable, registered_tables
from growthcompass.partitions.catalog import Partition, is_partitioned, partitions
from growthcompass.partitions.config import boundary_zone, lock_timeout_ms, periods_ahead
from growthcompass.partitions.ddl import create_partition
from growthcompass.partitions.periods import add_months, month_of, month_start, months

__all__ = [
    "MaintenanceResult",
    "PlannedPartition",
    "TablePlan",
    "partitions_cover",
    "partitions_maintain",
    "plan_table",
]

# pg_try_advisory_xact_lock key: one partitions_maintain at a time per database.
MAINTENANCE_LOCK_KEY = 7_406_913_205


@dataclass(frozen=True)
class PlannedPartition:
    name: str
    month: dt.date
    lower: dt.datetime
    upper: dt.datetime
    rows_from_default: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from": self.lower.isoformat(),
            "to": self.upper.isoformat(),
            "rows_from_default": self.rows_from_default,
        }


@dataclass(frozen=True)
class TablePlan:
    table: str
    partitioned: bool
    create: list[PlannedPartition] = field(default_factory=list)
    # Rows left in the DEFAULT partition because their month is older than retention.
    left_in_default: int = 0
    retention_start: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "partitioned": self.partitioned,
            "create": [planned.as_dict() for planned in self.create],
            "left_in_default": self.left_in_default,
            "retention_start": self.retention_start.isoformat() if self.retention_start else None,
        }


@dataclass(frozen=True)
class MaintenanceResult:
    dry_run: bool
    # False when another run held the lock: this one did nothing.
    ran: bool
    tables: list[TablePlan] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(len(plan.create) for plan in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ran": self.ran,
            "created": self.created,
            "tables": [plan.as_dict() for plan in self.tables],
        }


def retention_start(table: PartitionedTable, *, now: dt.datetime) -> dt.date | None:
    """The oldest month ``table``'s retention keeps (``None``: all of them)."""
    kept = table.retention_months()
    return None if kept is None else add_months(month_of(now), -kept)


def _default_months(cursor: CursorWrapper, table: PartitionedTable, default: Partition) -> dict[dt.date, int]:
    """Rows waiting in the DEFAULT partition, by month (in ``TIME_ZONE``)."""
    cursor.execute(
        sql.SQL(
            "SELECT (date_trunc('month', {column} AT TIME ZONE current_setting('TimeZone')))::date, count(*)"
            " FROM {default} GROUP BY 1"
        )
        .format(column=sql.Identifier(table.column), default=sql.Identifier(default.name))
        .as_string(None)
    )
    return {month: int(rows) for month, rows in cursor.fetchall()}


def plan_table(cursor: CursorWrapper, table: PartitionedTable, *, now: dt.datetime) -> TablePlan:
    """What maintenance would do to ``table`` now (reads only)."""
    if not is_partitioned(cursor, table.table):
        return TablePlan(table=table.table, partitioned=False)
    existing = partitions(cursor, table.table)
    default = next((partition for partition in existing if partition.is_default), None)
    oldest_kept = retention_start(table, now=now)
    current = month_of(now)
    wanted = dict.fromkeys(months(current, add_months(current, periods_ahead())), 0)
    left_in_default = 0
    if default is not None:
        for month, rows in sorted(_default_months(cursor, table, default).items()):
            if oldest_kept is not None and month < oldest_kept:
                left_in_default += rows
            else:
                wanted[month] = rows
    create = []
    for month in sorted(wanted):
        lower, upper = month_start(month), month_start(add_months(month, 1))
        if any(partition.overlaps(lower, upper) for partition in existing):
            # Covered already (or, for an odd hand-made bound, partly: never overlap it).
            continue
        create.append(
            PlannedPartition(
                name=table.partition_name(month), month=month, lower=lower, upper=upper, rows_from_default=wanted[month]
            )
        )
    return TablePlan(
        table=table.table,
        partitioned=True,
        create=create,
        left_in_default=left_in_default,
        retention_start=oldest_kept,
    )


def partitions_maintain(
    *, dry_run: bool = False, now: dt.datetime | None = None, using: str = DEFAULT_DB_ALIAS
) -> MaintenanceResult:
    """Create the partitions every registered table lacks and empty their DEFAULT partitions (see the module).

    Runs as the owner of the tables (``MIGRATION_DATABASE_URL``): creating and
    attaching partitions is DDL the application role may not run.
    """
    moment = now or timezone.now()
    connection = connections[using]
    with (
        as_owner_outside_transactions(using),
        transaction.atomic(using=using),
        connection.cursor() as cursor,
    ):
        # The session's time zone decides how month boundaries are read back; pin it to TIME_ZONE.
        cursor.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('lock_timeout', %s, true)",
            [boundary_zone().key, f"{lock_timeout_ms()}ms"],
        )
        if not dry_run:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MAINTENANCE_LOCK_KEY])
            row = cursor.fetchone()
            if not (row and row[0]):
                return MaintenanceResult(dry_run=False, ran=False)
        plans = [plan_table(cursor, table, now=moment) for table in registered_tables()]
        if dry_run:
            return MaintenanceResult(dry_run=True, ran=True, tables=plans)
        done = []
        for plan, table in zip(plans, registered_tables(), strict=True):
            created = []
            for planned in plan.create:
                moved = create_partition(cursor, table, lower=planned.lower, upper=planned.upper, name=planned.name)
                created.append(
                    PlannedPartition(
                        name=planned.name,
                        month=planned.month,
                        lower=planned.lower,
                        upper=planned.upper,
                        rows_from_default=moved,
                    )
                )
            done.append(
                TablePlan(
                    table=plan.table,
                    partitioned=plan.partitioned,
                    create=created,
                    left_in_default=plan.left_in_default,
                    retention_start=plan.retention_start,
                )
            )
    return MaintenanceResult(dry_run=False, ran=True, tables=done)


def partitions_cover(*, table: str, first: dt.date, last: dt.date, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create ``table``'s partition of every month from ``first``'s to ``last``'s that no partition covers.

    For a bulk load of history (the demo school's past terms): its rows then go
    straight to their months instead of the DEFAULT partition, which maintenance
    would have to empty afterwards row by row. Retention is not consulted: the
    caller is about to write those months. Returns the names created; nothing
    when ``table`` is not partitioned, or when the current role does not own it
    (the application role under row-level security: creating partitions is the
    owner's DDL; the rows then go to the DEFAULT partition, which
    ``partitions_maintain`` empties). Runs in the caller's transaction if any.
    """
    from growthcompass.partitions import get

    registered = get(table)
    connection = connections[using]
    created = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if not is_partitioned(cursor, registered.table):
            return []
        cursor.execute(
            "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass",
            [registered.table],
        )
        owner = cursor.fetchone()
        if not (owner and owner[0]):
            return []
        # Pinned for the DDL, then given back: the caller's transaction goes on after this.
        cursor.execute("SELECT current_setting('TimeZone'), current_setting('lock_timeout')")
        zone, timeout = cursor.fetchone() or ("UTC", "0")
        cursor.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('lock_timeout', %s, true)",
            [boundary_zone().key, f"{lock_timeout_ms()}ms"],
        )
        for month in months(month_of(first), month_of(last)):
            lower, upper = month_start(month), month_start(add_months(month, 1))
            if any(partition.overlaps(lower, upper) for partition in partitions(cursor, registered.table)):
                continue
            name = registered.partition_name(month)
            create_partition(cursor, registered, lower=lower, upper=upper, name=name)
            created.append(name)
        cursor.execute("SELECT set_config('TimeZone', %s, true), set_config('lock_timeout', %s, true)", [zone, timeout])
    return created
