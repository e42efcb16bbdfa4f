"""What the audit triggers no longer pay for, and what they still guarantee.

The fixed cost per statement was cut by not calling PL/pgSQL functions on the
common path (pgtrigger's ignore check, the ``written_by_triggers`` guard, the
context parser). ``pg_stat_xact_user_functions`` counts the calls a statement
made, so the tests assert which functions ran, never how long anything took.
"""

from __future__ import annotations

import pgtrigger
import pytest
from django.db import connection

from attendance.models import Attendance, AttendanceStatus
from auditing.context import audit_context
from tests.auditing.conftest import Entries
from tests.factories import AttendanceFactory, TermFactory, UserFactory

pytestmark = pytest.mark.django_db


def _function_calls() -> dict[str, int]:
    """PL/pgSQL calls made so far in this transaction, by function name.

    The row-level-security scope functions (``gc_rls_*``) are the policies' InitPlans, a few per
    statement whatever its rows (tests/rls/test_scope_functions.py); they are not the triggers'.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT funcname, calls FROM pg_stat_xact_user_functions WHERE funcname NOT LIKE 'gc\\_rls\\_%'")
        return {name: int(calls) for name, calls in cursor.fetchall()}


def _count_calls() -> None:
    """Count PL/pgSQL calls from here on; call it before the test's first write.

    A PL/pgSQL expression keeps, for the rest of the transaction, the call
    tracking in force when it was first evaluated: a function called from a
    trigger that already fired (a factory's INSERT) would go uncounted.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")


def _trigger_function(name: str) -> str:
    [trigger] = [t for t in Attendance._meta.triggers if t.name == name]  # type: ignore[attr-defined]
    return str(trigger.get_pgid(Attendance))


def _update_trigger_function() -> str:
    return _trigger_function("audit_update")


def _other_triggers_calls() -> dict[str, int]:
    """What the table's non-audit triggers call per statement (the queryset cache's table announcement)."""
    return {_trigger_function("queryset_tables"): 1}


def test_an_update_entry_keeps_the_old_values_of_the_changed_columns_only(new_entries: Entries) -> None:
    attendance = AttendanceFactory.create(note="on time")
    Attendance.objects.filter(pk=attendance.pk).update(status=AttendanceStatus.LATE, minutes_late=7)

    [entry] = new_entries("attendances", operation="UPDATE")
    assert entry.changed_fields == ["status", "minutes_late"]
    assert entry.old_data == {"status": "present", "minutes_late": 0}
    assert entry.new_data is not None
    assert (entry.new_data["status"], entry.new_data["minutes_late"], entry.new_data["note"]) == ("late", 7, "on time")


def test_insert_and_delete_entries_keep_the_whole_row(new_entries: Entries) -> None:
    attendance = AttendanceFactory.create(note="kept")
    Attendance.objects.filter(pk=attendance.pk).delete()

    insert, delete = new_entries("attendances")
    assert insert.new_data is not None and delete.old_data is not None
    assert insert.new_data == delete.old_data
    assert {"id", "status", "minutes_late", "note", "student_id", "session_id"} <= set(delete.old_data)


def test_a_column_added_after_the_triggers_were_generated_keeps_only_its_changed_old_value(
    as_table_owner: None, new_entries: Entries
) -> None:
    # Only the owner may add a column; the test commits, so it drops it again.
    term = TermFactory.create(name="Spring")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE terms ADD COLUMN probe_added integer DEFAULT 1")
        try:
            cursor.execute("UPDATE terms SET probe_added = 2 WHERE id = %s", [term.pk])
        finally:
            cursor.execute("ALTER TABLE terms DROP COLUMN probe_added")

    [entry] = new_entries("terms", operation="UPDATE")
    assert entry.changed_fields == ["probe_added"]
    assert entry.old_data == {"probe_added": 1}
    assert entry.new_data is not None and entry.new_data["probe_added"] == 2


def test_an_audited_statement_without_context_calls_only_its_audit_trigger() -> None:
    _count_calls()
    attendance = AttendanceFactory.create()
    before = _function_calls()

    Attendance.objects.filter(pk=attendance.pk).update(note="counted")

    calls = {name: n - before.get(name, 0) for name, n in _function_calls().items() if n != before.get(name, 0)}
    # The precondition: calls are counted at all (the audit trigger itself is one).
    assert calls == {_update_trigger_function(): 1, **_other_triggers_calls()}


def test_an_audited_statement_with_a_context_parses_it_once() -> None:
    _count_calls()
    attendance = AttendanceFactory.create()
    user = UserFactory.create()
    before = _function_calls()

    with audit_context(user=user, reason="counted"):
        Attendance.objects.filter(pk=attendance.pk).update(note="counted with context")

    calls = {name: n - before.get(name, 0) for name, n in _function_calls().items() if n != before.get(name, 0)}
    assert calls == {_update_trigger_function(): 1, "audit_context_from_setting": 1, **_other_triggers_calls()}


def test_pgtrigger_ignore_still_skips_the_audit_trigger_it_names_and_no_other(new_entries: Entries) -> None:
    attendance = AttendanceFactory.create()
    assert [e.operation for e in new_entries("attendances")] == ["INSERT"]

    with pgtrigger.ignore("attendance.Attendance:audit_update"):
        Attendance.objects.filter(pk=attendance.pk).update(note="not logged")
        Attendance.objects.filter(pk=attendance.pk).delete()

    assert [e.operation for e in new_entries("attendances")] == ["INSERT", "DELETE"]


@pytest.mark.parametrize("value", ["on", "off"])
def test_the_planner_settings_an_audit_trigger_turns_off_are_put_back_as_they_were(value: str) -> None:
    attendance = AttendanceFactory.create()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, true), set_config('enable_nestloop', %s, true)", [value, value])
        cursor.execute("SELECT current_setting('jit'), current_setting('enable_nestloop')")
        assert cursor.fetchone() == (value, value)

        cursor.execute("UPDATE attendances SET note = 'planned' WHERE id = %s", [attendance.pk])
        cursor.execute(
            "SELECT current_setting('jit'), current_setting('enable_nestloop'), current_setting('enable_mergejoin')"
        )
        assert cursor.fetchone() == (value, value, "on")


def test_one_update_statement_pairs_each_row_with_its_own_old_values(new_entries: Entries) -> None:
    first = AttendanceFactory.create(note="first")
    second = AttendanceFactory.create(note="second")
    with connection.cursor() as cursor:
        # One statement, a different set of changed columns for each row.
        cursor.execute(
            "UPDATE attendances SET status = 'late',"
            " note = CASE WHEN id = %s THEN 'changed' ELSE note END WHERE id IN (%s, %s)",
            [first.pk, first.pk, second.pk],
        )

    entries = {entry.row_pk: entry for entry in new_entries("attendances", operation="UPDATE")}
    first_entry, second_entry = entries[str(first.pk)], entries[str(second.pk)]
    assert first_entry.changed_fields == ["status", "note"]
    assert first_entry.old_data == {"status": "present", "note": "first"}
    assert second_entry.changed_fields == ["status"]
    assert second_entry.old_data == {"status": "present"}
    assert second_entry.new_data is not None
    assert (second_entry.new_data["status"], second_entry.new_data["note"]) == ("late", "second")


def test_the_table_announcement_calls_pgtriggers_ignore_check_only_when_ignore_names_it() -> None:
    _count_calls()
    attendance = AttendanceFactory.create()
    before = _function_calls()

    with pgtrigger.ignore("attendance.Attendance:queryset_tables"):
        Attendance.objects.filter(pk=attendance.pk).update(note="announced?")

    calls = {name: n - before.get(name, 0) for name, n in _function_calls().items() if n != before.get(name, 0)}
    # Named: pgtrigger's own check decides (and skips the announcement); the audit trigger is not named.
    assert calls == {_update_trigger_function(): 1, **_other_triggers_calls(), "_pgtrigger_should_ignore": 1}
