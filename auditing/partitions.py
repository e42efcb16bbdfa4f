"""audit_log is partitioned by month on ``changed_at`` (migration 0006); its registration for maintenance."""

from __future__ import annotations

from django.conf import settings

from growthcompass.partitions import PartitionedTable, register


def audit_retention_months() -> int | None:
    """``AUDIT_RETENTION_MONTHS``: months before the current one kept by retention (0 or unset: keep all)."""
    months: int = getattr(settings, "AUDIT_RETENTION_MONTHS", 0)
    return months or None


AUDIT_LOG = register(
    PartitionedTable(
        table="audit_log",
        column="changed_at",
        retention_months=audit_retention_months,
        # A row moved out of the DEFAULT partition into a new one is not deleted from the
        # log: the append-only guard and the prune record stand aside for that DELETE.
        move_ignores=("auditing.AuditLogGuard:append_only", "auditing.AuditLogGuard:record_prune"),
    )
)
