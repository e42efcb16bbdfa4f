"""auditing 0006 on a database holding data: every row kept, forwards and backwards; guards and indexes work."""

from __future__ import annotations

import pgtrigger
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from auditing.models import AuditLog
from tests.auditing.conftest import insert_entry
from tests.factories import TermFactory
from tests.partitions.conftest import inside

pytestmark = pytest.mark.django_db(transaction=True)

CHECKSUM_SQL = "SELECT count(*), md5(string_agg(a::text, '|' ORDER BY id)) FROM audit_log AS a"


def _checksum() -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(CHECKSUM_SQL)
        count, digest = cursor.fetchone()
    return int(count), str(digest)


def _scalar(query: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(query)
        row = cursor.fetchone()
    return row[0] if row else None


def _empty_the_log() -> None:
    """Back to an empty heap, so the suite's later tests get the fresh-database layout again."""
    with pgtrigger.ignore("auditing.AuditLogGuard:append_only", "auditing.AuditLogGuard:record_prune"):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_log")


def test_partitioning_keeps_every_row_both_ways_and_the_guards_hold() -> None:
    call_command("migrate", "auditing", "0005", verbosity=0)
    try:
        TermFactory.create_batch(3)
        old = insert_entry(changed_at=inside(-30))
        heap = _checksum()
        assert heap[0] >= 4 and _scalar("SELECT relkind FROM pg_class WHERE relname = 'audit_log'") == "r"

        call_command("migrate", "auditing", verbosity=0)

        assert _checksum() == heap
        assert _scalar("SELECT relkind FROM pg_class WHERE relname = 'audit_log'") == "p"
        bound = _scalar("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'audit_log_legacy'")
        assert str(bound).startswith("FOR VALUES FROM (MINVALUE) TO (")
        # The heap's indexes were adopted by the partitioned table's, not rebuilt.
        adopted = _scalar(
            "SELECT count(*) FROM pg_inherits WHERE inhrelid IN ("
            "'audit_log_legacy_id_changed_at_key'::regclass, 'audit_log_legacy_changed_at_brin'::regclass,"
            " 'audit_log_legacy_row_idx'::regclass, 'audit_log_legacy_user_time_idx'::regclass)"
        )
        assert adopted == 4
        # New writes are audited into the partitioned log, with ids after the old ones.
        term = TermFactory.create()
        entry = AuditLog.objects.filter(table_name="terms", row_pk=str(term.pk)).get()
        assert entry.pk > heap[0] and entry.pk > old
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_log_legacy")
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            AuditLog.objects.filter(pk=old).delete()
        with pytest.raises(IntegrityError, match="written by the audit triggers only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO audit_log (table_name, operation, changed_at, db_role, application_name,"
                    " transaction_id) VALUES ('terms', 'INSERT', now(), 'x', 'x', 0)"
                )
        # A row in a monthly partition after the legacy one goes back with the rest.
        insert_entry(changed_at=inside(3))
        partitioned = _checksum()

        call_command("migrate", "auditing", "0005", verbosity=0)

        assert _checksum() == partitioned
        assert _scalar("SELECT relkind FROM pg_class WHERE relname = 'audit_log'") == "r"
        assert (
            _scalar("SELECT attidentity FROM pg_attribute WHERE attrelid = 'audit_log'::regclass AND attname = 'id'")
            == "d"
        )
        TermFactory.create()  # the identity continues after the highest id
        assert _checksum()[0] == partitioned[0] + 1
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            AuditLog.objects.filter(pk=old).delete()
    finally:
        call_command("migrate", "auditing", "0005", verbosity=0)
        _empty_the_log()
        call_command("migrate", "auditing", verbosity=0)
    assert _scalar("SELECT count(*) FROM pg_class WHERE relname = 'audit_log_legacy'") == 0


def test_an_empty_log_is_partitioned_from_this_month_and_goes_back_to_a_heap_with_its_rows() -> None:
    # The suite's database was migrated empty: monthly partitions, no legacy one.
    assert _scalar("SELECT count(*) FROM pg_class WHERE relname = 'audit_log_legacy'") == 0
    TermFactory.create()
    insert_entry(changed_at=inside(-2))  # in the DEFAULT partition
    before = _checksum()
    try:
        call_command("migrate", "auditing", "0005", verbosity=0)
        assert _checksum() == before
        assert _scalar("SELECT relkind FROM pg_class WHERE relname = 'audit_log'") == "r"
    finally:
        _empty_the_log()
        call_command("migrate", "auditing", verbosity=0)
