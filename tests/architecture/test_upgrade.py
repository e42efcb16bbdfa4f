"""The architecture upgrade on a database holding data: a database migrated to the layout before the
registries (audit triggers on proxies of the auditing app, hand-listed NOTIFY triggers in the cache app,
the metrics view owned by the students app) and then to the head keeps every row, and every write stays
audited exactly once -- and, at every step of the upgrade, at least once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from psycopg import sql

from growthcompass.schema.services import run_plan
from tests.factories import (
    ClassSessionFactory,
    EnrollmentFactory,
    FeedbackFactory,
    GuardianFactory,
    StudentFactory,
)

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("module_as_owner")]

# The last migration of each app before the registries took over.
BEFORE = [
    ("students", "0002_student_metrics"),
    ("courses", "0001_initial"),
    ("attendance", "0002_late_index"),
    ("feedback", "0001_initial"),
    ("auditing", "0001_initial"),
    ("gc_cache", "0001_invalidation_triggers"),
    ("dashboards", None),
]
# Table -> a free-text column an UPDATE can set to anything (an UPDATE that changes nothing logs nothing).
WRITTEN = {
    "students": "leaving_reason",
    "guardians": "full_name",
    "terms": "name",
    "courses": "name",
    "enrollments": "reason",
    "class_sessions": "topic",
    "attendances": "note",
    "parsed_student_feedback": "raw_text",
    "auth_user": "last_name",
}
KEPT = [*WRITTEN, "view_refreshes", "student_metrics_mv"]
# Rows a later migration adds on purpose, left out of "kept": dashboards 0002 records the creation of
# the staff dashboard's two summaries (every earlier row of view_refreshes must still be unchanged).
ADDED = {"view_refreshes": sql.SQL("WHERE t.view_name NOT IN ('attendance_weekly_mv', 'feedback_trend_mv')")}
# Columns a later migration adds on purpose, left out of the fingerprint: attendance 0006 carries the
# session's date on each attendance (backfilled from the session; the partition key of 0007). And
# attendance 0007 creates student_metrics_mv again over the partitioned table and refreshes it, so its
# name (first and last name) shows the last_name this test writes; every other column must match.
ADDED_COLUMNS = {"attendances": ["session_date"], "student_metrics_mv": ["name"]}


def _migrate(targets: Sequence[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """Migrate to ``targets`` as ``manage.py migrate`` would; the steps it took."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(targets)
    run_plan(executor=executor, plan=plan, stdout=io.StringIO(), verbosity=0)
    return [(migration.app_label, migration.name) for migration, _ in plan]


def _fingerprint(table: str) -> tuple[int, str]:
    """Row count and an md5 over every row (less the column the test writes), in a stable order."""
    query = sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
        " FROM (SELECT to_jsonb(t) - {written} - {columns}::text[] AS r FROM {table} AS t {added}) AS rows"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            query.format(
                table=sql.Identifier(table),
                written=sql.Literal(WRITTEN.get(table, "")),
                columns=sql.Literal(ADDED_COLUMNS.get(table, [])),
                added=ADDED.get(table, sql.SQL("")),
            ).as_string(None)
        )
        rows, digest = cursor.fetchone()
    return int(rows), str(digest)


def _audit_entries_of_one_write(table: str, column: str) -> int:
    """Audit entries written by one UPDATE of one row of ``table`` (autocommit, raw SQL)."""
    query = sql.SQL(
        "UPDATE {table} SET {column} = left(md5(random()::text), 10) WHERE id = (SELECT min(id) FROM {table})"
    ).format(
        table=sql.Identifier(table), column=sql.Identifier(column)
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM audit_log")
        last = cursor.fetchone()[0]
        cursor.execute(query.as_string(None))
        assert cursor.rowcount == 1, f"{table} holds no row to write"
        cursor.execute(
            "SELECT count(*) FROM audit_log WHERE id > %s AND table_name = %s AND operation = 'UPDATE'", [last, table]
        )
        return int(cursor.fetchone()[0])


def _seed() -> None:
    student, session = StudentFactory.create(), ClassSessionFactory.create()
    EnrollmentFactory.create(student=student, course=session.course)
    GuardianFactory.create(student=student, is_primary=True)
    FeedbackFactory.create(student=student, session=session)
    with connection.cursor() as cursor:
        # As the code of that layout wrote it: the table has no session_date yet.
        cursor.execute(
            "INSERT INTO attendances (student_id, session_id, status, minutes_late, created_at, note)"
            " VALUES (%s, %s, 'present', 0, now(), '')",
            [student.pk, session.pk],
        )
        cursor.execute("REFRESH MATERIALIZED VIEW student_metrics_mv")
        cursor.execute(
            "INSERT INTO view_refreshes (view_name, started_at, finished_at, duration_ms, concurrent, source,"
            " succeeded, error) VALUES ('student_metrics_mv', now(), now(), 1, false, 'api', true, '')"
        )


def _leaf_nodes() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_upgrading_keeps_every_row_and_audits_every_write_at_every_step() -> None:
    head = _leaf_nodes()
    _migrate(BEFORE)
    _seed()
    before = {table: _fingerprint(table) for table in KEPT}
    assert all(rows for rows, _ in before.values()), before
    assert {table: _audit_entries_of_one_write(table, column) for table, column in WRITTEN.items()} == dict.fromkeys(
        WRITTEN, 1
    )

    executor = MigrationExecutor(connection)
    steps = [(migration.app_label, migration.name) for migration, _ in executor.migration_plan(head)]
    assert ("auditing", "0002_audit_triggers_move_to_apps") in steps
    for step in steps:
        _migrate([step])
        for table, column in WRITTEN.items():
            assert _audit_entries_of_one_write(table, column) >= 1, f"a write to {table} went unaudited after {step}"

    assert MigrationExecutor(connection).migration_plan(head) == []
    assert {table: _fingerprint(table) for table in KEPT} == before
    for table, column in WRITTEN.items():
        assert _audit_entries_of_one_write(table, column) == 1, f"a write to {table} is not audited exactly once"


def test_after_the_upgrade_no_trigger_of_the_old_layout_is_left() -> None:
    _migrate(BEFORE)
    _migrate(_leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgname LIKE 'gc_cache_%%'"
        )
        assert cursor.fetchall() == []
        cursor.execute(
            "SELECT c.relname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgname LIKE 'pgtrigger_audit_%%' GROUP BY c.relname"
        )
        per_table = dict(cursor.fetchall())
    # One trigger per operation (INSERT, UPDATE, DELETE, TRUNCATE), no leftover copy.
    assert {table: per_table.get(table) for table in WRITTEN} == dict.fromkeys(WRITTEN, 4)
