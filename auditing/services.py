"""Writes to the audit log. There is exactly one: pruning old entries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pgtrigger
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from auditing.context import audit_context
from auditing.triggers import APPEND_ONLY

APPEND_ONLY_URI = f"auditing.AuditLogGuard:{APPEND_ONLY}"


class PruneRefused(Exception):
    """The cut-off is too recent (``settings.AUDIT_PRUNE_MIN_AGE_DAYS``); nothing was deleted."""


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before.isoformat(),
            "dry_run": self.dry_run,
            "rows": self.rows,
            "by_table": dict(self.by_table),
            "first_id": self.first_id,
            "last_id": self.last_id,
            "record_id": self.record_id,
        }


def audit_log_prune(
    *,
    before: dt.datetime,
    dry_run: bool = False,
    reason: str | None = None,
    now: dt.datetime | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> PruneResult:
    """Delete the audit entries written before ``before``, in one transaction, and record that.

    The only sanctioned way past the ``append_only`` trigger: it is ignored for
    this one DELETE, and the ``record_prune`` trigger writes an entry (table
    ``audit_log``, operation ``DELETE``) summarising what went, attributed to
    the current audit context plus ``command=audit_prune`` and ``reason``.
    Refused (``PruneRefused``) when ``before`` is later than
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
            f"--before must be on or before {latest_allowed:%Y-%m-%d %H:%M}; got {before:%Y-%m-%d %H:%M}."
        )
    with (
        transaction.atomic(using=using),
        audit_context(command="audit_prune", reason=reason, before=before.isoformat(), using=using),
        connections[using].cursor() as cursor,
    ):
        cursor.execute(
            "SELECT table_name, count(*), min(id), max(id) FROM audit_log WHERE changed_at < %s"
            " GROUP BY table_name ORDER BY table_name",
            [before],
        )
        summary = cursor.fetchall()
        by_table = {table: count for table, count, _, _ in summary}
        rows = sum(by_table.values())
        first_id = min((low for _, _, low, _ in summary), default=None)
        last_id = max((high for _, _, _, high in summary), default=None)
        if dry_run or rows == 0:
            return PruneResult(
                before=before, dry_run=dry_run, rows=rows, by_table=by_table, first_id=first_id, last_id=last_id
            )
        with pgtrigger.ignore(APPEND_ONLY_URI, databases=[using]):
            cursor.execute("DELETE FROM audit_log WHERE changed_at < %s", [before])
            deleted = cursor.rowcount
        cursor.execute(
            "SELECT max(id) FROM audit_log WHERE table_name = 'audit_log' AND operation = 'DELETE'"
            " AND transaction_id = pg_current_xact_id()::text::bigint"
        )
        record = cursor.fetchone()
    return PruneResult(
        before=before,
        dry_run=False,
        rows=deleted,
        by_table=by_table,
        first_id=first_id,
        last_id=last_id,
        record_id=record[0] if record else None,
    )
