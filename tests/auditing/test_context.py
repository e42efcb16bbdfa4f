"""The acting user and context reach the triggers in autocommit and in transactions, and never linger."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from auditing.context import audit_context, bind_audit_context, current_audit_context
from auditing.middleware import AuditContextMiddleware
from courses.models import Term
from growthcompass.db.pooler import session_connection_params
from tests.auditing.conftest import Entries
from tests.factories import TermFactory, UserFactory


def _rename(term: Term, name: str) -> None:
    Term.objects.filter(pk=term.pk).update(name=name)


def _users_by_name(entries: Entries) -> dict[str, int | None]:
    return {e.new_data["name"]: e.changed_by_id for e in entries("terms", operation="UPDATE") if e.new_data}


# --- autocommit ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_context_attributes_autocommit_writes_and_ends_with_the_block(new_entries: Entries) -> None:
    user = UserFactory.create()
    term = TermFactory.create()
    assert connection.get_autocommit()

    with audit_context(user=user, reason="fix a typo"):
        _rename(term, "in context")
    _rename(term, "after context")

    [inside, after] = new_entries("terms", operation="UPDATE")
    assert (inside.changed_by_id, inside.context) == (user.pk, {"reason": "fix a typo"})
    assert (after.changed_by_id, after.context) == (None, None)


@pytest.mark.django_db(transaction=True)
def test_a_write_without_context_records_no_user_but_the_role_and_application(new_entries: Entries) -> None:
    TermFactory.create()

    [entry] = new_entries("terms")
    assert entry.changed_by_id is None
    assert entry.context is None
    assert entry.db_role == connection.settings_dict["USER"]
    assert entry.application_name == "growthcompass"


@pytest.mark.django_db(transaction=True)
def test_a_psql_session_records_its_own_application_name_and_may_name_a_user(new_entries: Entries) -> None:
    user = UserFactory.create()
    # A session of its own (behind a transaction pooler, the direct route): its session SET would
    # otherwise stay on a pooled server connection, in force for whichever client runs there next.
    params = session_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["application_name"] = "psql"
    with psycopg.connect(**params, autocommit=True) as session:
        # A session on the application role declares its row-level-security scope like any code.
        session.execute("SET growthcompass.rls_kind = 'system'")
        session.execute("INSERT INTO terms (name, starts_on, ends_on) VALUES ('by hand', '2025-01-01', '2025-02-01')")
        with session.transaction():
            session.execute(
                "SELECT set_config('growthcompass.audit_context', %s, true)",
                [f'{{"user_id": {user.pk}, "reason": "manual fix"}}'],
            )
            session.execute("UPDATE terms SET name = 'by hand, fixed' WHERE name = 'by hand'")

    [insert, update] = new_entries("terms")
    assert (insert.application_name, insert.changed_by_id) == ("psql", None)
    assert (update.changed_by_id, update.context) == (user.pk, {"reason": "manual fix"})


@pytest.mark.django_db(transaction=True)
def test_executemany_is_attributed(new_entries: Entries) -> None:
    user = UserFactory.create()
    with audit_context(user=user), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO terms (name, starts_on, ends_on) VALUES (%s, %s, %s)",
            [(f"many {i}", dt.date(2025, 1, 1), dt.date(2025, 2, 1)) for i in range(3)],
        )

    entries = new_entries("terms")
    assert len(entries) == 3
    assert {e.changed_by_id for e in entries} == {user.pk}


# --- inside transaction.atomic ---------------------------------------------------------


@pytest.mark.django_db
def test_context_inside_atomic_applies_and_is_cleared_on_exit(new_entries: Entries) -> None:
    user = UserFactory.create()
    term = TermFactory.create()
    with transaction.atomic():
        with audit_context(user=user.pk, reason="inside"):
            _rename(term, "A")
        _rename(term, "B")

    assert _users_by_name(new_entries) == {"A": user.pk, "B": None}


@pytest.mark.django_db
def test_nested_contexts_inherit_the_user_and_override_the_details(new_entries: Entries) -> None:
    outer_user, other = UserFactory.create(), UserFactory.create()
    term = TermFactory.create()
    with audit_context(user=outer_user, reason="outer", command="import"):
        with audit_context(reason="inner"):
            assert current_audit_context() is not None
            _rename(term, "inner")
        with audit_context(user=other):
            _rename(term, "other")
        _rename(term, "outer again")
    assert current_audit_context() is None

    entries = {e.new_data["name"]: e for e in new_entries("terms", operation="UPDATE") if e.new_data}
    assert (entries["inner"].changed_by_id, entries["inner"].context) == (
        outer_user.pk,
        {"reason": "inner", "command": "import"},
    )
    assert entries["other"].changed_by_id == other.pk
    assert (entries["outer again"].changed_by_id, entries["outer again"].context) == (
        outer_user.pk,
        {"reason": "outer", "command": "import"},
    )


@pytest.mark.django_db
def test_a_savepoint_rollback_cannot_bring_back_an_exited_context(new_entries: Entries) -> None:
    user = UserFactory.create()
    term = TermFactory.create()
    with transaction.atomic():
        with audit_context(user=user):
            _rename(term, "attributed")
            savepoint = transaction.savepoint()
        # Leaving the block cleared the setting inside the savepoint; rolling
        # the savepoint back undoes the clear ...
        transaction.savepoint_rollback(savepoint)
        with connection.connection.cursor() as raw:
            raw.execute("SELECT current_setting('growthcompass.audit_context')")
            assert f'"user_id": {user.pk}' in raw.fetchone()[0]
        # ... so the next context-free statement clears it again before it writes.
        _rename(term, "unattributed")

    assert _users_by_name(new_entries) == {"attributed": user.pk, "unattributed": None}


@pytest.mark.django_db(transaction=True)
def test_raw_psycopg_writes_are_attributed_once_the_context_is_bound(new_entries: Entries) -> None:
    user = UserFactory.create()
    term = TermFactory.create()
    with audit_context(user=user):  # entered outside the transaction below
        with transaction.atomic():
            with connection.cursor() as django_cursor:
                raw = django_cursor.connection.cursor()
                raw.execute("UPDATE terms SET name = 'raw unbound' WHERE id = %s", [term.pk])
                # Unbound, the statement has no row-level-security scope either: it sees no row.
                assert raw.rowcount == 0
                bind_audit_context(raw)
                raw.execute("UPDATE terms SET name = 'raw bound' WHERE id = %s", [term.pk])
        with transaction.atomic(), audit_context(reason="entered inside"):
            # Entering inside a transaction binds at once.
            with connection.cursor() as django_cursor:
                django_cursor.connection.cursor().execute(
                    "UPDATE terms SET name = 'raw entered inside' WHERE id = %s", [term.pk]
                )

    assert _users_by_name(new_entries) == {"raw bound": user.pk, "raw entered inside": user.pk}


@pytest.mark.django_db
def test_literal_percent_signs_and_named_parameters_survive_the_prefix(new_entries: Entries) -> None:
    user = UserFactory.create()
    term = TermFactory.create()
    with audit_context(user=user), connection.cursor() as cursor:
        cursor.execute(f"UPDATE terms SET name = '100% done' WHERE id = {term.pk}")
        cursor.execute("UPDATE terms SET name = %(name)s WHERE id = %(pk)s", {"name": "named", "pk": term.pk})

    assert _users_by_name(new_entries) == {"100% done": user.pk, "named": user.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "expected_context"),
    [
        ("not json", {"invalid_context": "not json"}),
        ('["a list"]', {"invalid_context": '["a list"]'}),
        ('{"user_id": "abc", "reason": "r"}', {"invalid_user_id": "abc", "reason": "r"}),
    ],
)
def test_a_malformed_context_setting_never_fails_the_write(
    new_entries: Entries, setting: str, expected_context: dict[str, Any]
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('growthcompass.audit_context', %s, true)", [setting])
        cursor.connection.execute(
            "INSERT INTO terms (name, starts_on, ends_on) VALUES ('x', '2025-01-01', '2025-02-01')"
        )

    [entry] = new_entries("terms")
    assert (entry.changed_by_id, entry.context) == (None, expected_context)


# --- the middleware --------------------------------------------------------------------


@pytest.mark.django_db
def test_middleware_attributes_an_authenticated_request_and_not_an_anonymous_one(
    new_entries: Entries, settings: Any
) -> None:
    from django.contrib.auth.models import AnonymousUser


    # An administrator: the middleware's row-level-security scope lets them rename a term.
    user = UserFactory.create(is_superuser=True)
    term = TermFactory.create()

    def view(request: HttpRequest) -> HttpResponse:
        _rename(term, f"by {request.method} as {request.user}")
        return HttpResponse()

    middleware = AuditContextMiddleware(view)
    signed_in = RequestFactory().post("/somewhere/")
    signed_in.user = user
    anonymous = RequestFactory().get("/elsewhere/")
    anonymous.user = AnonymousUser()
    settings.RLS_FALLBACK_CONTEXT = None  # as in an application: no user, no scope
    middleware(signed_in)
    middleware(anonymous)
    settings.RLS_FALLBACK_CONTEXT = "system"  # the test reads the audit log

    # The anonymous request has no row-level-security scope: its rename changed no row.
    [attributed] = new_entries("terms", operation="UPDATE")
    assert attributed.changed_by_id == user.pk
    assert attributed.context == {"path": "/somewhere/", "method": "POST"}
    term.refresh_from_db()
    assert term.name == "by POST as " + str(user)


def test_a_user_object_and_an_id_name_the_same_user() -> None:
    user = User(pk=42)
    with audit_context(user=user) as from_object, audit_context(user=42) as from_id:
        assert from_object.user_id == from_id.user_id == 42
