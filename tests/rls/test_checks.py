"""rls_check and the row_level_security health check: clean on the suite's database, one line per problem."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from growthcompass.rls.checks import rls_report
from growthcompass.rls.health import row_level_security_check
from tests.db.aliases import alias_for_url, owner_database_url
from tests.rls.school import School

pytestmark = pytest.mark.django_db


def test_rls_check_passes_on_the_application_role() -> None:
    out = io.StringIO()
    call_command("rls_check", stdout=out)
    assert out.getvalue().startswith("row-level security in force:")
    payload = json.loads(_json())
    assert payload["ok"] is True and payload["role"] == "growthcompass_app"
    assert {"students", "attendances", "audit_log", "registry_widgets"} <= set(payload["tables"])
    assert row_level_security_check().ok


def _json() -> str:
    out = io.StringIO()
    call_command("rls_check", "--json", stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_table_without_forced_security_is_reported_and_exits_1(as_table_owner: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE guardians NO FORCE ROW LEVEL SECURITY")
        try:
            problems = rls_report().problems
            err = io.StringIO()
            with pytest.raises(SystemExit) as exited:
                call_command("rls_check", stdout=io.StringIO(), stderr=err)
        finally:
            cursor.execute("ALTER TABLE guardians FORCE ROW LEVEL SECURITY")
    assert "table guardians has row-level security enabled but not forced" in problems
    assert exited.value.code == 1
    assert "guardians" in err.getvalue() and len(err.getvalue().strip().splitlines()) >= 1


@pytest.fixture(scope="module")
def owner_alias(django_db_setup: None, django_db_blocker: Any) -> Any:
    # Built as settings build DATABASES: behind the suite's pooler too, which refuses startup options.
    with django_db_blocker.unblock(), alias_for_url("rls_owner", owner_database_url()):
        yield


@pytest.mark.django_db(databases="__all__")
def test_connecting_as_the_owner_superuser_is_reported(owner_alias: None) -> None:
    problems = rls_report(using="rls_owner").problems
    assert any("a superuser: row-level security does not apply" in p for p in problems)
    assert any("which owns" in p for p in problems)


def test_an_unknown_alias_is_a_one_line_command_error() -> None:
    with pytest.raises(CommandError, match="Unknown database alias 'nope'"):
        call_command("rls_check", "--database", "nope")


def test_a_teachers_as_user_cannot_reset_the_demo_data(school: School) -> None:
    with pytest.raises(CommandError, match="refused for --as-user teacher-a by row-level security"):
        call_command("seed_demo", "--students", "5", "--reset", "--as-user", school.a.teacher.username,
                     stdout=io.StringIO())  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_rls_apply_restores_a_dropped_policy(as_table_owner: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute('DROP POLICY "guardians_teacher_read" ON guardians')
    assert "policy guardians_teacher_read on guardians is missing (migrate, or manage.py rls_apply)" in (
        rls_report().problems
    )
    out = io.StringIO()
    call_command("rls_apply", "--table", "guardians", stdout=out)
    assert "re-applied to 1 table(s)" in out.getvalue()
    # (The report runs as the owner here, so it also names the superuser: only the policy matters.)
    assert not any("guardians_teacher_read" in problem for problem in rls_report().problems)


def test_rls_apply_refuses_an_undeclared_table_in_one_line() -> None:
    with pytest.raises(CommandError, match="Not a declared table: auth_user"):
        call_command("rls_apply", "--table", "auth_user")
