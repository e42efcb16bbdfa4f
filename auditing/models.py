"""The audit log and the proxies that carry the audit triggers.

``audit_log`` is written only by PostgreSQL triggers (``auditing.triggers``),
so every path into the data is covered: the admin, services, ``bulk_create``,
``queryset.update()``, raw SQL and ``psql``. An app audits its models by
listing them in its own ``audit.py`` (``AUDITED_MODELS = (Student, Guardian)``);
``auditing.registry`` registers the triggers on those models when this app is
ready, so they migrate with the app that owns the table, and this app imports
no domain app. ``auth_user`` is audited through the ``AuditedUser`` proxy below,
since ``django.contrib.auth``'s migrations are not ours to extend.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.postgres.fields import ArrayField
from django.db import models

from auditing.triggers import audit_log_triggers, audit_triggers


class AuditOperation(models.TextChoices):
    INSERT = "INSERT", "Insert"
    UPDATE = "UPDATE", "Update"
    DELETE = "DELETE", "Delete"
    TRUNCATE = "TRUNCATE", "Truncate"


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    def for_table(self, table_name: str) -> AuditLogQuerySet:
        return self.filter(table_name=table_name)

    def for_row(self, table_name: str, pk: object) -> AuditLogQuerySet:
        return self.filter(table_name=table_name, row_pk=str(pk))

    def by_user(self, user_id: int) -> AuditLogQuerySet:
        return self.filter(changed_by_id=user_id)


class AuditLog(models.Model):
    """One changed row (or one TRUNCATE, or one prune) as the database saw it."""

    id = models.BigAutoField(primary_key=True)
    table_name = models.CharField(max_length=63)
    operation = models.CharField(max_length=8, choices=AuditOperation.choices)
    # Text, so a table with a non-integer key can be audited without a schema change.
    # NULL (not "") when the entry concerns no single row: a TRUNCATE, a prune.
    row_pk = models.TextField(null=True, blank=True)  # noqa: DJ001
    old_data = models.JSONField(null=True, blank=True)
    new_data = models.JSONField(null=True, blank=True)
    changed_fields = ArrayField(models.TextField(), null=True, blank=True)
    changed_at = models.DateTimeField()
    # No database foreign key: the log must outlive the users it names, and
    # a constraint would make deleting a user try to rewrite history.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # audit_log_user_time_idx serves lookups by user; a plain index would cost every row.
        db_index=False,
        db_column="changed_by",
        null=True,
        blank=True,
        related_name="+",
    )
    db_role = models.CharField(max_length=63)
    application_name = models.CharField(max_length=64, blank=True)
    transaction_id = models.BigIntegerField()
    context = models.JSONField(null=True, blank=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        # The table, its indexes and its check constraint are created by SQL in
        # migrations (0001, 0004), not by Django: an unmanaged table is left out of
        # Django's flush (manage.py flush, TransactionTestCase), which would
        # otherwise TRUNCATE an append-only log. Its triggers live on
        # AuditLogGuard below. Indexes, for the queries staff run:
        #   audit_log_changed_at_brin BRIN (changed_at)
        #   audit_log_row_idx        (table_name, row_pk)
        #   audit_log_user_time_idx  (changed_by, changed_at) WHERE changed_by IS NOT NULL
        managed = False
        db_table = "audit_log"
        ordering = ["-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        target = f"{self.table_name}#{self.row_pk}" if self.row_pk is not None else self.table_name
        return f"{self.operation} {target} at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class AuditLogGuard(AuditLog):
    """Carries audit_log's own triggers: append-only, written by triggers only, prunes recorded.

    A proxy because pgtrigger migrates the triggers of managed models and of
    proxies, and ``AuditLog`` itself is unmanaged.
    """

    class Meta:
        proxy = True
        triggers = audit_log_triggers()


# --- auth_user ---------------------------------------------------------------------------


class AuditedUser(User):
    """Carries the audit triggers of ``auth_user``."""

    class Meta:
        proxy = True
        triggers = audit_triggers()
