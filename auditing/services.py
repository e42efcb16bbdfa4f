"""Writes to the audit log. There is exactly one: pruning old entries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pgtrigger
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg import sql

from auditing.context import audit_context
from auditing.triggers import APPEND_ONLY, WRITTEN_BY_TRIGGERS
from growthcompass.db.roles import as_owner_outside_transactions
from growthcompass.partitions.catalog import Partition, partitions
from growthcompass.partitions.config import lock_timeout_ms
from growthcompass.partitions.periods import month_of, month_start

APPEND_ONLY_URI = f"auditing.AuditLogGuard:{APPEND_ONLY}"
WRITTEN_BY_TRIGGERS_URI = f"auditing.AuditLogGuard:{WRITTEN_BY_TRIGGERS}"

# The prune of whole partitions is recorded like record_prune records a DELETE: one
# audit_log / DELETE entry, attributed from the audit context, its old_data saying what went.
RECORD_SQL = """
INSERT INTO audit_log (table_name, operation, row_pk, old_data, new_data, changed_fields, changed_at,
                       changed_by, db_role, application_name, transaction_id, context)
SELECT 'audit_log', 'DELETE', NULL, %s::jsonb, NULL, NULL, statement_timestamp(),
       (s.ctx ->> 'user_id')::integer, current_user, current_setting('application_name'),
       pg_current_xact_id()::text::bigint, NULLIF(s.ctx - 'user_id', '{}'::jsonb)
FROM (SELECT audit_context_from_setting() AS ctx) AS s
RETURNING id
"""


def moment_text(moment: dt.datetime) -> str:
    """``0001-01-01 00:00``: four-digit years (``strftime('%Y')`` prints year 1 as ``1``)."""
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d}"


class PruneRefused(Exception):
    """The cut-off is too recent (``settings.AUDIT_PRUNE_MIN_AGE_DAYS``); nothing was deleted."""


@dataclass(frozen=True)
class PrunedPartition:
    """A whole monthly partition older than the cut-off: dropped or detached."""

    name: str
    lower: dt.datetime | None
    upper: dt.datetime
    rows: int
    by_table: dict[str, int]
    first_id: int | None
    last_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "from": self.lower.isoformat() if self.lower else None,
            "to": self.upper.isoformat(),
            "rows": self.rows,
            "by_table": dict(self.by_table),
            "first_id": self.first_id,
            "last_id": self.last_id,
        }


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed (or, with ``dry_run``, would remove)."""

    before: dt.datetime
    dry_run: bool
    rows: int
    by_table: dict[str, int] = field(default_factory=dict)
    first_id: int | None = None
    last_id: int | None = None
    # The audit_log entry that records the prune (None for a dry run or when nothing matched).
    record_id: int | None = None
    # The cut-off applied: ``before`` itself when it starts a month, else the start of its month.
    cutoff: dt.datetime | None = None
    partitions: list[PrunedPartition] = field(default_factory=list)
    mode: str = "drop"
    # Rows deleted one by one: those older than the cut-off in a partition that also holds
    # newer rows (the legacy heap attached by migration 0006) or in the DEFAULT partition.
    deleted_rows: int = 0
    record_ids: list[int] = field(default_factory=list)

    @property
    def inside_month(self) -> bool:
        return self.cutoff is not None and self.cutoff != self.before

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before.isoformat(),
            "cutoff": (self.cutoff or self.before).isoformat(),
            "inside_month": self.inside_month,
            "dry_run": self.dry_run,
            "mode": self.mode,
            "rows": self.rows,
            "by_table": dict(self.by_table),
            "first_id": self.first_id,
            "last_id": self.last_id,
            "partitions": [partition.as_dict() for partition in self.partitions],
            "deleted_rows": self.deleted_rows,
            "record_id": self.record_id,
            "record_ids": list(self.record_ids),
        }


def prune_mode() -> str:
    """``AUDIT_PRUNE_PARTITIONS``: ``drop`` (default) or ``detach`` whole monthly partitions."""
    mode: str = getattr(settings, "AUDIT_PRUNE_PARTITIONS", "drop")
    return mode


def _summary(cursor: CursorWrapper, partition: Partition, cutoff: dt.datetime) -> list[tuple[str, int, int, int]]:
    """(table, rows, first id, last id) of ``partition``'s entries before ``cutoff``."""
    cursor.execute(
        sql.SQL(
            "SELECT table_name, count(*), min(id), max(id) FROM {} WHERE changed_at < %s"
            " GROUP BY table_name ORDER BY table_name"
        )
        .format(sql.Identifier(partition.name))
        .as_string(None),
        [cutoff],
    )
    return [(str(table), int(rows), int(low), int(high)) for table, rows, low, high in cursor.fetchall()]


def _pruned(partition: Partition, summary: list[tuple[str, int, int, int]]) -> PrunedPartition:
    if partition.upper is None:  # pragma: no cover - only partitions with an upper bound are pruned whole
        raise ValueError(f"{partition.name} has no upper bound")
    return PrunedPartition(
        name=partition.name,
        lower=partition.lower,
        upper=partition.upper,
        rows=sum(rows for _, rows, _, _ in summary),
        by_table={table: rows for table, rows, _, _ in summary},
        first_id=min((low for _, _, low, _ in summary), default=None),
        last_id=max((high for _, _, _, high in summary), default=None),
    )


def audit_log_prune(
    *,
    before: dt.datetime,
    dry_run: bool = False,
    reason: str | None = None,
    now: dt.datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> PruneResult:
    """Remove the audit entries of the whole months before ``before``, in one transaction, and record that.

    ``audit_log`` is partitioned by month: each partition that ends on or before
    the cut-off is dropped (or detached, ``AUDIT_PRUNE_PARTITIONS``) whole, which
    costs the same for ten rows or ten million. A cut-off inside a month applies
    from the start of that month (``PruneResult.cutoff``; the command says so).
    Entries before the cut-off that share a partition with newer ones (the
    legacy heap that migration 0006 attached, and the DEFAULT partition) are
    deleted past the ``append_only`` trigger, and ``record_prune`` records that
    DELETE; the dropped partitions are recorded in one more ``audit_log`` /
    ``DELETE`` entry (their names, ranges, row and id ranges, rows per table),
    both attributed to the current audit context plus ``command=audit_prune``
    and ``reason``. Refused (``PruneRefused``) when ``before`` is later than
    ``AUDIT_PRUNE_MIN_AGE_DAYS`` days ago, so a mistyped year cannot wipe
    recent history. With ``dry_run`` nothing is written.
    """
    if timezone.is_naive(before):
        raise ValueError("before must be timezone-aware")
    min_age_days: int = settings.AUDIT_PRUNE_MIN_AGE_DAYS
    latest_allowed = (now or timezone.now()) - dt.timedelta(days=min_age_days)
    if before > latest_allowed:
        raise PruneRefused(
            f"Refusing to prune entries newer than {min_age_days} days (AUDIT_PRUNE_MIN_AGE_DAYS): "
            f"--before must be on or before {moment_text(latest_allowed)}; got {moment_text(before)}."
        )
    cutoff = month_start(month_of(before))
    mode = prune_mode()
    with (
        # Dropping and detaching partitions is DDL on the owner's table.
        as_owner_outside_transactions(using),
        transaction.atomic(using=using),
        audit_context(
            command="audit_prune", reason=reason, before=before.isoformat(), cutoff=cutoff.isoformat(), using=using
        ),
        connections[using].cursor() as cursor,
    ):
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms()}ms"])
        whole: list[PrunedPartition] = []
        shared: list[tuple[str, int, int, int]] = []
        for partition in partitions(cursor, "audit_log"):
            if partition.is_default or partition.upper is None or partition.upper > cutoff:
                if partition.is_default or partition.lower is None or partition.lower < cutoff:
                    shared += _summary(cursor, partition, cutoff)
            else:
                whole.append(_pruned(partition, _summary(cursor, partition, cutoff)))
        by_table: dict[str, int] = {}
        for table, rows, _, _ in shared:
            by_table[table] = by_table.get(table, 0) + rows
        for pruned in whole:
            for table, rows in pruned.by_table.items():
                by_table[table] = by_table.get(table, 0) + rows
        lows = [low for _, _, low, _ in shared] + [p.first_id for p in whole if p.first_id is not None]
        highs = [high for _, _, _, high in shared] + [p.last_id for p in whole if p.last_id is not None]
        result = PruneResult(
            before=before,
            dry_run=dry_run,
            rows=sum(by_table.values()),
            by_table=by_table,
            first_id=min(lows, default=None),
            last_id=max(highs, default=None),
            cutoff=cutoff,
            partitions=whole,
            mode=mode,
            deleted_rows=sum(rows for _, rows, _, _ in shared),
        )
        if dry_run or (not whole and not shared):
            return result
        # Whole partitions first: the DELETE below then reaches only the shared ones.
        for pruned in whole:
            statement = "DROP TABLE {}" if mode == "drop" else "ALTER TABLE audit_log DETACH PARTITION {}"
            cursor.execute(sql.SQL(statement).format(sql.Identifier(pruned.name)).as_string(None))
        record_ids = []
        if shared:
            with pgtrigger.ignore(APPEND_ONLY_URI, databases=[using]):
                cursor.execute("DELETE FROM audit_log WHERE changed_at < %s", [cutoff])
            cursor.execute(
                "SELECT max(id) FROM audit_log WHERE table_name = 'audit_log' AND operation = 'DELETE'"
                " AND transaction_id = pg_current_xact_id()::text::bigint"
            )
            row = cursor.fetchone()
            if row and row[0] is not None:
                record_ids.append(int(row[0]))
        if whole:
            removed = [pruned.as_dict() for pruned in whole]
            details = {
                "rows": sum(p.rows for p in whole),
                "first_id": min((p.first_id for p in whole if p.first_id is not None), default=None),
                "last_id": max((p.last_id for p in whole if p.last_id is not None), default=None),
                "first_changed_at": removed[0]["from"],
                "last_changed_at": removed[-1]["to"],
                "tables": {
                    t: sum(p.by_table.get(t, 0) for p in whole) for t in sorted({t for p in whole for t in p.by_table})
                },
                "partitions": removed,
                "mode": mode,
                "before": before.isoformat(),
                "cutoff": cutoff.isoformat(),
            }
            with pgtrigger.ignore(WRITTEN_BY_TRIGGERS_URI, databases=[using]):
                cursor.execute(RECORD_SQL, [json.dumps(details)])
                row = cursor.fetchone()
            if row is not None:
                record_ids.append(int(row[0]))
    return PruneResult(
        **{
            **result.__dict__,
            "dry_run": False,
            "record_ids": record_ids,
            "record_id": record_ids[-1] if record_ids else None,
        }
    )
