"""Every write path produces exactly the expected audit entries, from the database triggers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import F

from attendance.models import Attendance, AttendanceStatus
from auditing.health import audit_triggers_check
from auditing.registry import audited_tables
from auditing.selectors import audit_log_for_row, audit_trigger_status
from courses.models import Term
from feedback.models import ParsedStudentFeedback
from students.models import Guardian, Student
from tests.auditing.conftest import Entries
from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    FeedbackFactory,
    GuardianFactory,
    StudentFactory,
    TermFactory,
    UserFactory,
)
from tests.tables import DOMAIN_TABLES, REGISTRY_APP_TABLES

pytestmark = pytest.mark.django_db

AUDITED_TABLES = DOMAIN_TABLES | {"auth_user"}


def test_every_domain_table_and_auth_user_carry_installed_current_audit_triggers() -> None:
    statuses = audit_trigger_status()
    assert audited_tables() == AUDITED_TABLES | REGISTRY_APP_TABLES
    audited = {(s.table, s.trigger) for s in statuses}
    for table in AUDITED_TABLES | REGISTRY_APP_TABLES:
        for operation in ("insert", "update", "delete", "truncate"):
            assert (table, f"audit_{operation}") in audited
    assert {("audit_log", name) for name in ("append_only", "written_by_triggers", "record_prune")} <= audited
    assert all(s.ok for s in statuses), [s for s in statuses if not s.ok]


def test_orm_create_writes_one_insert_entry_with_the_new_row(new_entries: Entries) -> None:
    term = TermFactory.create(name="Autumn", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2025, 12, 19))

    [entry] = new_entries("terms")
    assert entry.operation == "INSERT"
    assert entry.row_pk == str(term.pk)
    assert entry.old_data is None
    assert entry.new_data == {"id": term.pk, "name": "Autumn", "starts_on": "2025-09-01", "ends_on": "2025-12-19"}
    assert entry.changed_fields is None


def test_orm_save_records_the_changed_old_values_the_whole_new_row_and_only_the_changed_fields(
    new_entries: Entries,
) -> None:
    term = TermFactory.create(name="Autumn")
    term.name = "Autumn 2025"
    term.save()

    [entry] = new_entries("terms", operation="UPDATE")
    assert entry.changed_fields == ["name"]
    assert entry.old_data is not None and entry.new_data is not None
    assert entry.old_data == {"name": "Autumn"}
    assert entry.new_data["name"] == "Autumn 2025"
    assert entry.new_data["ends_on"] == term.ends_on.isoformat()


def test_update_that_changes_nothing_writes_no_entry(new_entries: Entries) -> None:
    term = TermFactory.create()
    term.save()  # every column written back with its own value
    Term.objects.filter(pk=term.pk).update(name=F("name"))

    assert [e.operation for e in new_entries("terms")] == ["INSERT"]


def test_orm_delete_writes_one_delete_entry_with_the_old_row(new_entries: Entries) -> None:
    guardian = GuardianFactory.create(full_name="Ada Lovelace")
    pk = guardian.pk
    guardian.delete()

    [entry] = new_entries("guardians", operation="DELETE")
    assert entry.row_pk == str(pk)
    assert entry.new_data is None
    assert entry.old_data is not None and entry.old_data["full_name"] == "Ada Lovelace"


def test_bulk_create_writes_one_entry_per_row(new_entries: Entries) -> None:
    terms = Term.objects.bulk_create(
        [Term(name=f"Bulk {i}", starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 3, 1)) for i in range(25)],
        batch_size=10,
    )

    entries = new_entries("terms")
    assert [e.operation for e in entries] == ["INSERT"] * 25
    assert sorted(str(e.row_pk) for e in entries) == sorted(str(t.pk) for t in terms)
    assert {e.new_data["name"] for e in entries if e.new_data} == {f"Bulk {i}" for i in range(25)}


def test_bulk_update_records_each_changed_row_and_skips_unchanged_ones(new_entries: Entries) -> None:
    terms = [TermFactory.create(name=f"T{i}") for i in range(4)]
    terms[0].name = "T0 renamed"
    terms[2].name = "T2 renamed"
    Term.objects.bulk_update(terms, ["name"])

    updates = new_entries("terms", operation="UPDATE")
    assert sorted(str(e.row_pk) for e in updates) == sorted([str(terms[0].pk), str(terms[2].pk)])
    assert all(e.changed_fields == ["name"] for e in updates)


def test_queryset_update_records_every_changed_row(new_entries: Entries) -> None:
    session = ClassSessionFactory.create()
    rows = [AttendanceFactory.create(session=session, status=AttendanceStatus.PRESENT) for _ in range(3)]
    already_late = AttendanceFactory.create(session=session, status=AttendanceStatus.LATE, minutes_late=5)

    updated = Attendance.objects.filter(session=session).update(status=AttendanceStatus.LATE, minutes_late=5)

    assert updated == 4  # the caller's rowcount survives the audit prefix
    entries = new_entries("attendances", operation="UPDATE")
    assert sorted(str(e.row_pk) for e in entries) == sorted(str(r.pk) for r in rows)
    assert str(already_late.pk) not in {e.row_pk for e in entries}
    for entry in entries:
        assert entry.changed_fields == ["status", "minutes_late"]
        assert entry.old_data and entry.new_data
        assert (entry.old_data["status"], entry.new_data["status"]) == ("present", "late")
        assert (entry.old_data["minutes_late"], entry.new_data["minutes_late"]) == (0, 5)


def test_queryset_delete_records_every_row(new_entries: Entries) -> None:
    student = StudentFactory.create()
    guardians = [GuardianFactory.create(student=student) for _ in range(3)]

    Guardian.objects.filter(student=student).delete()

    entries = new_entries("guardians", operation="DELETE")
    assert sorted(str(e.row_pk) for e in entries) == sorted(str(g.pk) for g in guardians)


def test_raw_sql_through_a_cursor_is_audited(new_entries: Entries) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO terms (name, starts_on, ends_on) VALUES (%s, %s, %s) RETURNING id",
            ["Raw", dt.date(2025, 1, 6), dt.date(2025, 3, 28)],
        )
        row = cursor.fetchone()
        assert row is not None
        pk = row[0]
        cursor.execute("UPDATE terms SET ends_on = %s WHERE id = %s", [dt.date(2025, 4, 4), pk])
        cursor.execute("DELETE FROM terms WHERE id = %s", [pk])

    entries = new_entries("terms")
    assert [(e.operation, e.row_pk) for e in entries] == [("INSERT", str(pk)), ("UPDATE", str(pk)), ("DELETE", str(pk))]
    update = entries[1]
    assert update.changed_fields == ["ends_on"]
    assert update.old_data and update.new_data
    assert (update.old_data["ends_on"], update.new_data["ends_on"]) == ("2025-03-28", "2025-04-04")


def test_student_entries_are_keyed_by_the_shared_user_id(new_entries: Entries) -> None:
    student = StudentFactory.create(grade_level=7)
    Student.objects.filter(pk=student.pk).update(grade_level=8)

    entries = new_entries("students")
    pk = str(student.user_id)
    assert [(e.operation, e.row_pk) for e in entries] == [("INSERT", pk), ("UPDATE", pk)]
    assert entries[1].changed_fields == ["grade_level"]
    assert [e.row_pk for e in audit_log_for_row(model=Student, pk=student.pk)] == [str(student.pk)] * 2


def test_jsonb_and_array_columns_are_compared_and_stored_as_json(new_entries: Entries) -> None:
    feedback = FeedbackFactory.create(scores={"participation": 4}, tags=["engaged"])
    ParsedStudentFeedback.objects.filter(pk=feedback.pk).update(scores={"participation": 5}, tags=["engaged", "kind"])

    [entry] = new_entries("parsed_student_feedback", operation="UPDATE")
    assert entry.changed_fields == ["scores", "tags"]
    assert entry.old_data and entry.new_data
    assert entry.old_data["scores"] == {"participation": 4}
    assert entry.new_data["tags"] == ["engaged", "kind"]


def test_the_password_hash_never_reaches_the_log(new_entries: Entries) -> None:
    user = UserFactory.create(username="hash-check")
    first_hash = user.password
    user.set_password("a different secret")
    user.save()
    User.objects.filter(pk=user.pk).delete()

    entries = new_entries("auth_user")
    assert [e.operation for e in entries] == ["INSERT", "UPDATE", "DELETE"]
    for entry in entries:
        for data in (entry.old_data, entry.new_data):
            assert data is None or "password" not in data
    # The change itself is on record, without the values.
    assert entries[1].changed_fields == ["password"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM audit_log WHERE (coalesce(old_data, '{}') || coalesce(new_data, '{}'))::text"
            " LIKE ANY (%s)",
            [[f"%{first_hash}%", f"%{user.password}%"]],
        )
        assert cursor.fetchone() == (0,)


def test_truncate_of_an_audited_table_is_recorded(as_table_owner: None, new_entries: Entries) -> None:
    # Only the owner may TRUNCATE (the application role is never granted it).
    GuardianFactory.create()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE guardians")

    [entry] = new_entries("guardians", operation="TRUNCATE")
    assert entry.row_pk is None
    assert entry.old_data is None and entry.new_data is None


def test_entries_carry_the_role_application_name_and_transaction_id(new_entries: Entries) -> None:
    TermFactory.create()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('application_name'), pg_current_xact_id()::text::bigint")
        role, application_name, xid = cursor.fetchone()

    [entry] = new_entries("terms")
    assert (entry.db_role, entry.application_name, entry.transaction_id) == (role, application_name, xid)
    assert entry.application_name == "growthcompass"
    assert entry.changed_at is not None


def test_a_primary_key_change_is_logged_from_the_new_row(new_entries: Entries) -> None:
    term = TermFactory.create()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE terms SET id = id + 100000 WHERE id = %s", [term.pk])

    [entry] = new_entries("terms", operation="UPDATE")
    assert entry.row_pk == str(term.pk + 100000)
    assert entry.old_data is None
    assert entry.new_data and entry.new_data["name"] == term.name
    assert entry.changed_fields and "id" in entry.changed_fields


def test_health_check_reports_a_disabled_audit_trigger(as_table_owner: None) -> None:
    assert audit_triggers_check().ok
    pgid = next(s.pgid for s in audit_trigger_status() if s.table == "guardians" and s.trigger == "audit_update")
    with connection.cursor() as cursor:
        # Only the owner may disable a trigger; the test commits, so it enables it again.
        cursor.execute(f'ALTER TABLE guardians DISABLE TRIGGER "{pgid}"')
        try:
            result = audit_triggers_check()
        finally:
            cursor.execute(f'ALTER TABLE guardians ENABLE TRIGGER "{pgid}"')

    assert not result.ok
    assert "guardians.audit_update: disabled" in result.detail


def test_a_redaction_setting_naming_no_real_column_is_a_system_check_error() -> None:
    from django.test import override_settings

    from auditing.checks import check_redacted_columns

    with override_settings(AUDIT_REDACTED_COLUMNS={"auth_user": ("passwd",), "no_such_table": ("x",)}):
        ids = sorted(str(error.id) for error in check_redacted_columns())
    assert ids == ["auditing.E002", "auditing.E003"]
    assert check_redacted_columns() == []
