"""get_user_activity_summary (SQL), its Python wrapper, audit_activity, and the --as-user helpers."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from auditing.commands import audit_context_from_options
from auditing.context import audit_context
from auditing.selectors import user_activity_summary
from courses.models import Term
from tests.auditing.conftest import insert_entry
from tests.factories import GuardianFactory, TermFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history() -> dict[str, int]:
    """A known history: the editor's changes this week and long ago, and someone else's."""
    editor, bystander = UserFactory.create(username="editor"), UserFactory.create()
    with audit_context(user=editor):
        first, second = TermFactory.create(), TermFactory.create()
        Term.objects.filter(pk=first.pk).update(name="renamed")
        second.delete()
        GuardianFactory.create()  # also inserts a user and a student, as the editor
    with audit_context(user=bystander):
        TermFactory.create()
    insert_entry(table_name="terms", changed_at=timezone.now() - dt.timedelta(days=45), changed_by=editor.pk)
    return {"editor": editor.pk, "bystander": bystander.pk}


def test_the_sql_function_counts_changes_per_table_and_operation(history: dict[str, int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, operation, changes FROM get_user_activity_summary(%s, %s)", [history["editor"], 30]
        )
        rows = cursor.fetchall()

    assert rows == [
        ("auth_user", "INSERT", 1),
        ("guardians", "INSERT", 1),
        ("students", "INSERT", 1),
        ("terms", "DELETE", 1),
        ("terms", "INSERT", 2),
        ("terms", "UPDATE", 1),
    ]


def test_the_window_and_first_and_last_change_follow_the_history(history: dict[str, int]) -> None:
    recent = {(r.table_name, r.operation): r for r in user_activity_summary(user_id=history["editor"], days=30)}
    longer = {(r.table_name, r.operation): r for r in user_activity_summary(user_id=history["editor"], days=60)}

    assert recent["terms", "INSERT"].changes == 2
    assert longer["terms", "INSERT"].changes == 3
    span = longer["terms", "INSERT"]
    assert span.last_change - span.first_change >= dt.timedelta(days=44)
    assert recent["terms", "INSERT"].first_change <= recent["terms", "INSERT"].last_change
    assert [(r.table_name, r.operation, r.changes) for r in user_activity_summary(user_id=history["bystander"])] == [
        ("terms", "INSERT", 1)
    ]
    with pytest.raises(ValueError, match="days must be at least 1"):
        user_activity_summary(user_id=history["editor"], days=0)


def test_audit_activity_prints_a_table_by_username_and_json_by_id(history: dict[str, int]) -> None:
    text, as_json = StringIO(), StringIO()
    call_command("audit_activity", user="editor", days=30, stdout=text)
    call_command("audit_activity", user=str(history["editor"]), json=True, stdout=as_json)

    lines = text.getvalue().splitlines()
    assert lines[0] == f"Changes by editor (id {history['editor']}) in the last 30 days:"
    assert any(line.split()[:3] == ["terms", "INSERT", "2"] for line in lines)
    payload = json.loads(as_json.getvalue())
    assert payload["username"] == "editor" and payload["days"] == 30
    assert {(a["table_name"], a["operation"], a["changes"]) for a in payload["activity"]} >= {("terms", "UPDATE", 1)}


def test_audit_activity_rejects_an_unknown_user_and_a_bad_window() -> None:
    with pytest.raises(CommandError, match="No user with id or username 'ghost'"):
        call_command("audit_activity", user="ghost")
    with pytest.raises(CommandError, match="--days must be from 1 to 36500"):
        call_command("audit_activity", user="ghost", days=0)
    with pytest.raises(CommandError, match="--days: must be at most 36500"):
        call_command("audit_activity", "--user", "ghost", "--days", "99999999")


def test_a_user_with_no_changes_gets_an_empty_summary() -> None:
    quiet = UserFactory.create(username="quiet")
    out = StringIO()
    call_command("audit_activity", user="quiet", stdout=out)
    assert user_activity_summary(user_id=quiet.pk) == []
    assert out.getvalue().strip().endswith("in the last 30 days: none.")


def test_as_user_option_names_the_user_by_id_or_username_and_the_command() -> None:
    user = UserFactory.create(username="operator")
    with audit_context_from_options({"as_user": "operator"}, command="seed_demo", reason="demo") as by_name:
        assert by_name.user_id == user.pk
        assert dict(by_name.details) == {"command": "seed_demo", "reason": "demo"}
    with audit_context_from_options({"as_user": str(user.pk)}, command="seed_demo") as by_id:
        assert by_id.user_id == user.pk
    with audit_context_from_options({}, command="seed_demo") as nobody:
        assert nobody.user_id is None
    with pytest.raises(CommandError), audit_context_from_options({"as_user": "999999"}, command="x"):
        pass
