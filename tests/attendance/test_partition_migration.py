"""attendance 0006 and 0007 on a database holding attendance: every row kept, forwards and backwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from attendance.models import Attendance
from auditing.models import AuditLog
from tests.factories import ClassSessionFactory, CourseFactory, StudentFactory
from tests.partitions.conftest import month

# Migrations run as the owner of the tables.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("module_as_owner")]

# The columns 0005 has: compared across the whole round trip.
OLD_COLUMNS = "id, student_id, session_id, status, minutes_late, recorded_by_id, created_at, note"
OLD_CHECKSUM_SQL = (
    f"SELECT count(*), md5(string_agg(row({OLD_COLUMNS})::text, '|' ORDER BY id)) FROM attendances"
)
FULL_CHECKSUM_SQL = (
    f"SELECT count(*), md5(string_agg(row({OLD_COLUMNS}, session_date)::text, '|' ORDER BY id))"
    " FROM attendances"
)


def _checksum(query: str) -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        count, digest = cursor.fetchone()
    return int(count), str(digest)


def _scalar(query: str, params: list[int] | None = None) -> object:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        row = cursor.fetchone()
    return row[0] if row else None


def _insert_raw(student: int, session: int, status: str = "present") -> None:
    """An attendance as code that knows no session_date writes it (0005's columns only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO attendances (student_id, session_id, status, minutes_late, created_at, note)"
            " VALUES (%s, %s, %s, 0, now(), '')",
            [student, session, status],
        )


def _relkind() -> object:
    return _scalar("SELECT relkind FROM pg_class WHERE oid = to_regclass('attendances')")


PUBLIC_SELECT_SQL = (
    "SELECT count(*) FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a"
    " WHERE c.oid = to_regclass(%s) AND a.grantee = 0 AND a.privilege_type = 'SELECT'"
)


def _public_can_read(relation: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(PUBLIC_SELECT_SQL, [relation])
        row = cursor.fetchone()
    return bool(row and row[0])


def _audited() -> int:
    return AuditLog.objects.filter(table_name="attendances").count()


def test_partitioning_keeps_every_row_both_ways() -> None:
    call_command("migrate", "attendance", "0005", verbosity=0)
    try:
        course = CourseFactory.create()
        students = StudentFactory.create_batch(3)
        days = [month(-14).replace(day=3), month(-2).replace(day=20), month(0).replace(day=1), month(1).replace(day=9)]
        sessions = [ClassSessionFactory.create(course=course, session_date=day) for day in days]
        for session in sessions:
            for student in students:
                _insert_raw(student.pk, session.pk)
        audited = _audited()

        call_command("migrate", "attendance", "0006", verbosity=0)

        # The backfill set every date to its session's, and was no change for the audit log.
        assert _scalar(
            "SELECT count(*) FROM attendances AS a JOIN class_sessions AS cs ON cs.id = a.session_id"
            " WHERE a.session_date IS DISTINCT FROM cs.session_date"
        ) == 0
        assert _audited() == audited
        # While old code may still write, the heap's trigger fills the date.
        late_comer = StudentFactory.create()
        _insert_raw(late_comer.pk, sessions[2].pk, "late")
        assert _scalar("SELECT session_date FROM attendances WHERE student_id = %s", [late_comer.pk]) == days[2]
        with connection.cursor() as cursor:
            # Privileges of another role (an application role's, say) must survive the swap.
            cursor.execute("GRANT SELECT ON attendances, student_metrics_mv TO PUBLIC")
        heap = _checksum(OLD_CHECKSUM_SQL)
        heap_full = _checksum(FULL_CHECKSUM_SQL)
        assert heap[0] == 13 and _relkind() == "r"

        call_command("migrate", "attendance", "0007", verbosity=0)  # before the views move behind row-level security

        assert _relkind() == "p"
        assert _public_can_read("attendances") and _public_can_read("student_metrics_mv")
        assert _checksum(OLD_CHECKSUM_SQL) == heap
        assert _checksum(FULL_CHECKSUM_SQL) == heap_full
        bound = _scalar(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'attendances_legacy'::regclass"
        )
        assert bound == f"FOR VALUES FROM (MINVALUE) TO ('{month(2).isoformat()}')"
        # The heap's indexes were adopted by the partitioned table's, not rebuilt.
        assert _scalar(
            "SELECT count(*) FROM pg_inherits WHERE inhrelid IN ("
            "'attendances_legacy_id_session_date_key'::regclass,"
            " 'attendances_legacy_session_student_date_key'::regclass,"
            " 'attendances_legacy_created_at'::regclass, 'attendances_legacy_late'::regclass)"
        ) == 4
        # The materialized views read the partitioned table, and were filled again.
        assert _scalar(
            "SELECT bool_and(relispopulated) FROM pg_class"
            " WHERE relname IN ('student_metrics_mv', 'attendance_weekly_mv')"
        )
        assert _scalar(
            "SELECT count(*) FROM pg_depend AS d JOIN pg_rewrite AS r ON r.oid = d.objid"
            " WHERE d.refobjid = 'attendances'::regclass AND r.ev_class::regclass::text IN"
            " ('student_metrics_mv', 'attendance_weekly_mv')"
        )
        assert _scalar("SELECT present_count FROM student_metrics_mv WHERE id = %s", [students[0].pk]) == 3
        # One attendance per student and session holds against the legacy rows too.
        with pytest.raises(IntegrityError), transaction.atomic():
            Attendance.objects.create(student=students[0], session=sessions[0], status="absent")
        # New writes get ids after the old ones and go to their month's partition.
        later = ClassSessionFactory.create(course=course, session_date=month(2).replace(day=2))
        new = Attendance.objects.create(student=students[0], session=later, status="present")
        assert new.pk > heap[0]
        assert _scalar("SELECT tableoid::regclass::text FROM attendances WHERE id = %s", [new.pk]) == (
            f"attendances_p{month(2):%Y_%m}"
        )
        assert _audited() == audited + 2  # the late comer's insert and this one
        partitioned = _checksum(FULL_CHECKSUM_SQL)

        call_command("migrate", "attendance", "0006", verbosity=0)

        assert _relkind() == "r"
        assert _public_can_read("attendances") and _public_can_read("student_metrics_mv")
        assert _checksum(FULL_CHECKSUM_SQL) == partitioned
        assert _scalar(
            "SELECT attidentity FROM pg_attribute WHERE attrelid = 'attendances'::regclass AND attname = 'id'"
        ) == "d"
        assert _scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'attendances_pkey'"
            " AND conrelid = 'attendances'::regclass"
        ) == "PRIMARY KEY (id)"
        assert _scalar("SELECT present_count FROM student_metrics_mv WHERE id = %s", [students[0].pk]) == 3
        old_columns = _checksum(OLD_CHECKSUM_SQL)

        call_command("migrate", "attendance", "0005", verbosity=0)

        assert _checksum(OLD_CHECKSUM_SQL) == old_columns
        _insert_raw(late_comer.pk, sessions[0].pk)  # the identity continues after the highest id
        assert _scalar("SELECT count(*) FROM attendances") == old_columns[0] + 1
    finally:
        call_command("migrate", "attendance", "0005", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("REVOKE SELECT ON attendances, student_metrics_mv FROM PUBLIC")
            cursor.execute("DELETE FROM attendances")
        call_command("migrate", verbosity=0)  # every app: going back unapplied the ones after attendance too
    assert _scalar("SELECT to_regclass('attendances_legacy')") is None


def test_an_empty_table_is_partitioned_from_this_month_and_goes_back_to_a_heap_with_its_rows() -> None:
    # The suite's database was migrated empty: monthly partitions, no legacy one.
    assert _scalar("SELECT to_regclass('attendances_legacy')") is None
    session = ClassSessionFactory.create(session_date=month(0) - dt.timedelta(days=200))
    Attendance.objects.create(student=StudentFactory.create(), session=session, status="present")  # DEFAULT
    before = _checksum(FULL_CHECKSUM_SQL)
    try:
        call_command("migrate", "attendance", "0006", verbosity=0)
        assert _relkind() == "r"
        assert _checksum(FULL_CHECKSUM_SQL) == before
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM attendances")
        call_command("migrate", verbosity=0)  # every app: going back unapplied the ones after attendance too
    assert _relkind() == "p"
