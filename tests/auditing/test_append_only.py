"""audit_log refuses UPDATE, DELETE, TRUNCATE and forged INSERTs; audit_prune is the one way out, and is recorded."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from auditing.models import AuditLog
from auditing.services import PruneRefused, audit_log_prune
from tests.auditing.conftest import Entries, insert_entry
from tests.factories import TermFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry() -> AuditLog:
    TermFactory.create()
    return AuditLog.objects.filter(table_name="terms").latest("id")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET changed_by = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE false",
        "TRUNCATE audit_log",
    ],
)
def test_raw_update_delete_and_truncate_are_refused(entry: AuditLog, statement: str) -> None:
    # The application role may not TRUNCATE at all (row-level security does not bind it); the
    # append-only trigger refuses it for the owner (test_truncate_is_refused_to_the_owner_too).
    refusal = (
        (ProgrammingError, "permission denied")
        if statement.startswith("TRUNCATE")
        else (
            IntegrityError,
            "audit_log is append-only",
        )
    )
    with pytest.raises(refusal[0], match=refusal[1]), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditLog.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_truncate_is_refused_to_the_owner_too(as_table_owner: None) -> None:
    TermFactory.create()
    with pytest.raises(IntegrityError, match="audit_log is append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_log")
    assert AuditLog.objects.exists()


def test_orm_update_and_delete_are_refused(entry: AuditLog) -> None:
    with pytest.raises(IntegrityError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(row_pk="forged")
    with pytest.raises(IntegrityError, match="append-only: DELETE refused"), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.row_pk != "forged"


def test_a_forged_insert_is_refused() -> None:
    with pytest.raises(IntegrityError, match="written by the audit triggers only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_log (table_name, operation, changed_at, db_role, application_name, transaction_id)"
                " VALUES ('terms', 'INSERT', now(), 'x', 'x', 0)"
            )


def _old_history(now: dt.datetime) -> tuple[list[int], list[int]]:
    """Three entries a year old and two a week old."""
    old = [insert_entry(table_name=t, changed_at=now - dt.timedelta(days=400)) for t in ("terms", "terms", "courses")]
    recent = [insert_entry(changed_at=now - dt.timedelta(days=7)) for _ in range(2)]
    return old, recent


def test_audit_prune_deletes_old_entries_and_records_what_it_removed(
    staff_user: User, new_entries: Entries, as_table_owner: None
) -> None:
    now = timezone.now()
    old, recent = _old_history(now)
    before = (now - dt.timedelta(days=365)).date().isoformat()
    out = StringIO()

    call_command(
        "audit_prune", before=before, as_user=staff_user.username, reason="yearly retention", json=True, stdout=out
    )

    result = json.loads(out.getvalue())
    assert result["rows"] >= 3 and result["by_table"]["courses"] >= 1
    assert not AuditLog.objects.filter(pk__in=old).exists()
    assert AuditLog.objects.filter(pk__in=recent).count() == 2
    record = AuditLog.objects.get(pk=result["record_id"])
    assert (record.table_name, record.operation, record.row_pk) == ("audit_log", "DELETE", None)
    assert record.changed_by_id == staff_user.pk
    assert record.context is not None
    assert record.context["command"] == "audit_prune"
    assert record.context["reason"] == "yearly retention"
    assert record.old_data is not None
    assert record.old_data["rows"] == result["rows"]
    assert record.old_data["tables"] == result["by_table"]
    assert record.old_data["last_id"] >= max(old)


def test_append_only_is_back_in_force_after_a_prune(as_table_owner: None) -> None:
    now = timezone.now()
    _old_history(now)
    audit_log_prune(before=now - dt.timedelta(days=365))

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLog.objects.all().delete()


def test_audit_prune_dry_run_counts_and_deletes_nothing(new_entries: Entries, as_table_owner: None) -> None:
    now = timezone.now()
    old, _ = _old_history(now)
    out = StringIO()

    call_command("audit_prune", before=(now - dt.timedelta(days=365)).isoformat(), dry_run=True, stdout=out)

    assert "Would remove 3 audit log entries" in out.getvalue()
    assert AuditLog.objects.filter(pk__in=old).count() == 3
    assert not new_entries(table="audit_log")


def test_audit_prune_refuses_a_recent_cutoff() -> None:
    now = timezone.now()
    with pytest.raises(CommandError, match="AUDIT_PRUNE_MIN_AGE_DAYS"):
        call_command("audit_prune", before=(now - dt.timedelta(days=3)).date().isoformat())
    with override_settings(AUDIT_PRUNE_MIN_AGE_DAYS=1), pytest.raises(PruneRefused):
        audit_log_prune(before=now, now=now)


def test_audit_prune_rejects_a_malformed_date_and_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="--before must be a date"):
        call_command("audit_prune", before="last spring")
    with pytest.raises(CommandError, match="No user with id or username 'nobody'"):
        call_command("audit_prune", before="2000-01-01", as_user="nobody")
