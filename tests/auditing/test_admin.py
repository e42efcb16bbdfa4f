"""The admin: staff changes are attributed; the audit log is a filtered, read-only list with old → new pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from auditing import admin as audit_admin
from auditing.models import AuditLog
from courses.models import Term
from growthcompass import admin_paging
from growthcompass.admin_paging import EstimatedCountPaginator
from tests.auditing.conftest import Entries, insert_entry
from tests.factories import GuardianFactory, TermFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:auditing_auditlog_changelist"


def _listed(client: Client, **params: str) -> list[AuditLog]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_a_change_through_the_admin_records_the_staff_user_and_path(
    staff_client: Client, staff_user: User, new_entries: Entries
) -> None:
    term = TermFactory.create(name="Spring")
    url = reverse("admin:courses_term_change", args=[term.pk])

    response = staff_client.post(
        url, {"name": "Spring 2026", "starts_on": term.starts_on.isoformat(), "ends_on": term.ends_on.isoformat()}
    )

    assert response.status_code == 302
    [entry] = new_entries("terms", operation="UPDATE")
    assert entry.changed_by_id == staff_user.pk
    assert entry.context == {"path": url, "method": "POST"}
    assert entry.changed_fields == ["name"]


def test_the_audit_log_filters_by_table_operation_user_and_date_range(
    staff_client: Client, staff_user: User, new_entries: Entries
) -> None:
    from auditing.context import audit_context

    other = UserFactory.create(username="other-editor")
    with audit_context(user=staff_user):
        term = TermFactory.create()
        Term.objects.filter(pk=term.pk).update(name="renamed by staff")
    with audit_context(user=other):
        guardian = GuardianFactory.create()
    old = insert_entry(changed_at=timezone.now() - dt.timedelta(days=60))

    by_table = _listed(staff_client, table_name="guardians")
    assert by_table and {e.table_name for e in by_table} == {"guardians"}
    by_operation = _listed(staff_client, table_name="terms", operation="UPDATE")
    assert [(e.row_pk, e.operation) for e in by_operation] == [(str(term.pk), "UPDATE")]
    by_username = _listed(staff_client, user=other.username)
    assert {e.changed_by_id for e in by_username} == {other.pk}
    assert str(guardian.pk) in {e.row_pk for e in by_username if e.table_name == "guardians"}
    by_id = _listed(staff_client, user=str(staff_user.pk))
    assert by_id and {e.changed_by_id for e in by_id} == {staff_user.pk}
    assert all(e.changed_by_id is None for e in _listed(staff_client, user="none"))

    today = timezone.localdate()
    in_range = _listed(staff_client, changed_from=(today - dt.timedelta(days=61)).isoformat(),
                       changed_until=(today - dt.timedelta(days=59)).isoformat())
    assert [e.pk for e in in_range] == [old]
    assert old not in {e.pk for e in _listed(staff_client, changed_from=today.isoformat())}


def test_the_change_page_shows_old_and_new_for_each_field_and_links_to_the_row(
    staff_client: Client, new_entries: Entries
) -> None:
    term = TermFactory.create(name="Old name")
    Term.objects.filter(pk=term.pk).update(name="New name")
    [entry] = new_entries("terms", operation="UPDATE")

    response = staff_client.get(reverse("admin:auditing_auditlog_change", args=[entry.pk]))

    assert response.status_code == 200
    changes = {c.name: c for c in response.context["field_changes"]}
    assert (changes["name"].old, changes["name"].new, changes["name"].changed) == ("Old name", "New name", True)
    assert changes["starts_on"].changed is False
    # The entry keeps only the changed columns' old values; the page still shows old -> new for every column.
    assert "starts_on" not in (entry.old_data or {})
    assert changes["starts_on"].old == changes["starts_on"].new == term.starts_on.isoformat()
    html = response.content.decode()
    assert "Old name" in html and "New name" in html
    assert f"table_name=terms&amp;row_pk={term.pk}" in html
    assert reverse("admin:courses_term_change", args=[term.pk]) in html


def test_a_redacted_column_is_named_on_the_change_page_but_never_shown(
    staff_client: Client, new_entries: Entries
) -> None:
    user = UserFactory.create()
    user.set_password("rotated secret")
    user.save()
    [entry] = new_entries("auth_user", operation="UPDATE")

    response = staff_client.get(reverse("admin:auditing_auditlog_change", args=[entry.pk]))

    [password] = [c for c in response.context["field_changes"] if c.name == "password"]
    assert password.redacted and password.changed
    assert user.password not in response.content.decode()


def test_an_audited_models_change_page_links_to_its_history_and_others_do_not(staff_client: Client) -> None:
    term = TermFactory.create()
    group = Group.objects.create(name="editors")

    term_page = staff_client.get(reverse("admin:courses_term_change", args=[term.pk])).content.decode()
    user_page = staff_client.get(reverse("admin:auth_user_change", args=[UserFactory.create().pk])).content.decode()
    group_page = staff_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()

    assert f"{reverse(CHANGELIST)}?table_name=terms&amp;row_pk={term.pk}" in term_page
    assert "?table_name=auth_user&amp;row_pk=" in user_page
    assert 'class="auditlink"' not in group_page


def test_the_history_link_is_hidden_from_staff_who_may_not_view_the_log() -> None:
    editor = UserFactory.create(is_staff=True)
    editor.user_permissions.add(*_permissions("courses", "term", "view", "change"))
    client = Client()
    client.force_login(editor)
    term = TermFactory.create()

    page = client.get(reverse("admin:courses_term_change", args=[term.pk]))

    assert page.status_code == 200
    assert 'class="auditlink"' not in page.content.decode()


def _permissions(app_label: str, model: str, *actions: str) -> list[Permission]:
    return list(
        Permission.objects.filter(
            content_type__app_label=app_label, codename__in=[f"{action}_{model}" for action in actions]
        )
    )


def test_the_audit_log_admin_is_read_only(staff_client: Client, new_entries: Entries) -> None:
    TermFactory.create()
    [entry] = new_entries("terms")
    change_url = reverse("admin:auditing_auditlog_change", args=[entry.pk])

    assert staff_client.get(reverse("admin:auditing_auditlog_add")).status_code == 403
    assert staff_client.post(change_url, {"row_pk": "forged"}).status_code == 403
    assert staff_client.get(reverse("admin:auditing_auditlog_delete", args=[entry.pk])).status_code == 403
    assert 'name="_save"' not in staff_client.get(change_url).content.decode()
    entry.refresh_from_db()
    assert entry.row_pk != "forged"


def test_an_unfiltered_list_of_a_large_log_is_counted_from_the_planner_estimate(
    monkeypatch: pytest.MonkeyPatch, as_table_owner: None, staff_user: User
) -> None:
    # As the owner: only the owner may ANALYZE audit_log.
    TermFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_log")
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = 'audit_log'::regclass")
        estimate = cursor.fetchone()[0]
    TermFactory.create_batch(2)  # after ANALYZE: the estimate is now stale
    monkeypatch.setattr(admin_paging, "EXACT_COUNT_LIMIT", 0)

    assert EstimatedCountPaginator(AuditLog.objects.order_by("-id"), 50).count == estimate
    assert EstimatedCountPaginator(AuditLog.objects.order_by("-id"), 50).count != AuditLog.objects.count()
    filtered = AuditLog.objects.filter(table_name="terms").order_by("-id")
    assert EstimatedCountPaginator(filtered, 50).count == filtered.count()
    request = RequestFactory().get("/")
    request.user = staff_user
    assert audit_admin.AuditLogAdmin(AuditLog, audit_admin.admin.site).get_paginator(request, filtered, 50).count
