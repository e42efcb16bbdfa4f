"""Reads of the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import pgtrigger
from django.db import DEFAULT_DB_ALIAS, connections, models

from auditing.models import AuditLog, AuditLogGuard, AuditLogQuerySet
from auditing.registry import trigger_models as audit_trigger_models


@dataclass(frozen=True)
class ActivityRow:
    """One line of ``get_user_activity_summary``: changes to one table by one operation."""

    table_name: str
    operation: str
    changes: int
    first_change: dt.datetime
    last_change: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_change"] = self.first_change.isoformat()
        data["last_change"] = self.last_change.isoformat()
        return data


def user_activity_summary(*, user_id: int, days: int = 30, using: str = DEFAULT_DB_ALIAS) -> list[ActivityRow]:
    """What ``user_id`` changed in the last ``days`` days, per table and operation.

    A thin wrapper over the SQL function ``get_user_activity_summary`` (created
    by migration 0002), so views, commands and ``psql`` users get one answer.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1; got {days}")
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT table_name, operation, changes, first_change, last_change"
            " FROM get_user_activity_summary(%s, %s)",
            [user_id, days],
        )
        return [ActivityRow(*row) for row in cursor.fetchall()]


def audit_log_for_row(*, model: type[models.Model], pk: object) -> AuditLogQuerySet:
    """Every entry for one row of an audited model, newest first."""
    concrete = model._meta.concrete_model or model
    return AuditLog.objects.for_row(concrete._meta.db_table, pk).order_by("-id")


@dataclass(frozen=True)
class TriggerStatus:
    table: str
    trigger: str
    pgid: str
    installed: bool
    enabled: bool
    current: bool

    @property
    def ok(self) -> bool:
        return self.installed and self.enabled and self.current


def audit_trigger_status(*, using: str = DEFAULT_DB_ALIAS) -> list[TriggerStatus]:
    """Whether every audit trigger (and every guard on audit_log) is installed, enabled and up to date.

    One catalogue query. "Current" compares the hash pgtrigger stores in the
    trigger's comment with the SQL the models declare now.
    """
    expected: list[tuple[str, str, str, str]] = []
    # pgtrigger annotates its model arguments as instances; it is given classes.
    trigger_models: list[Any] = [*audit_trigger_models(), AuditLogGuard]
    for model in trigger_models:
        triggers: list[pgtrigger.Trigger] = getattr(model._meta, "triggers", [])
        for trigger in triggers:
            pgid = trigger.get_pgid(model)
            expected.append((model._meta.db_table, str(trigger.name), pgid, trigger.compile(model).hash))
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, t.tgenabled, obj_description(t.oid, 'pg_trigger')"
            " FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid"
            " WHERE t.tgname = ANY(%s)",
            [[pgid for _, _, pgid, _ in expected]],
        )
        found = {(table, name): (enabled, comment) for table, name, enabled, comment in cursor.fetchall()}
    statuses = []
    for table, name, pgid, digest in expected:
        enabled, comment = found.get((table, pgid), (None, None))
        statuses.append(
            TriggerStatus(
                table=table,
                trigger=name,
                pgid=pgid,
                installed=enabled is not None,
                # "O" fires in origin and local mode, "A" always; "D" and "R" would skip ordinary writes.
                enabled=enabled in ("O", "A"),
                current=comment == digest,
            )
        )
    return statuses
