"""The policies' scope functions run a few times per statement, never once per row.

Each policy says ``(SELECT gc_rls_sees_all())``: a sub-select the planner turns
into an InitPlan, evaluated once when the statement starts. The functions are
PL/pgSQL (rls migration 0002), so PostgreSQL counts their calls; a policy that
called one per row would make a 20-row statement call it 20 times as often as
a one-row statement.
"""

from __future__ import annotations

import pytest
from django.db import connection

from growthcompass.rls import rls_context
from students.models import Student
from tests.rls.school import School

SCOPE_FUNCTIONS = ("gc_rls_sees_all", "gc_rls_teacher_id", "gc_rls_kind", "gc_rls_is_admin", "gc_rls_user_id")


def _scope_calls() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = ANY(%s)",
            [list(SCOPE_FUNCTIONS)],
        )
        return int(cursor.fetchone()[0])


def _calls_for(statement: str, params: list[int] | list[list[int]]) -> int:
    before = _scope_calls()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        cursor.fetchall()
    return _scope_calls() - before


@pytest.mark.django_db
@pytest.mark.parametrize("as_teacher", [False, True], ids=["admin", "teacher"])
def test_a_statement_calls_the_scope_functions_as_often_for_one_row_as_for_many(
    school: School, as_teacher: bool
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL track_functions = 'pl'")
    user = school.a.teacher if as_teacher else school.admin
    with rls_context(user=user):
        ids = list(Student.objects.values_list("pk", flat=True))
        assert len(ids) >= 2, "the scope sees several students"
        one = _calls_for("SELECT * FROM students WHERE id = %s", [ids[0]])
        many = _calls_for("SELECT * FROM students WHERE id = ANY(%s)", [ids])
    assert one > 0, "the calls are counted at all"
    assert many == one
