"""Every admin page a staff user can reach renders, and changelists stay O(1) in queries."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    AttendanceFactory,
    ClassSessionFactory,
    CourseFactory,
    EnrollmentFactory,
    FeedbackFactory,
    GuardianFactory,
    StudentFactory,
    TermFactory,
)
from tests.tables import DOMAIN_TABLES

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"students", "courses", "attendance", "feedback", "auditing"}


def project_models() -> list[type[Model]]:
    return [m for m in admin.site._registry if m._meta.app_label in PROJECT_APPS]


def populate(rows: int) -> None:
    """``rows`` objects of every model, each with its related rows."""
    for _ in range(rows):
        student = StudentFactory.create()
        GuardianFactory.create(student=student)
        session = ClassSessionFactory.create()
        EnrollmentFactory.create(student=student, course=session.course)
        AttendanceFactory.create(student=student, session=session)
        FeedbackFactory.create(student=student, session=session)
        TermFactory.create()
        CourseFactory.create()
    # The metrics page reads a materialized view: it shows these rows once refreshed.
    call_command("refresh_views", "--no-concurrently", stdout=StringIO())


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_domain_model_is_registered() -> None:
    registered = {m._meta.db_table for m in project_models()}
    assert registered >= DOMAIN_TABLES


def test_changelist_add_and_change_pages_render_for_staff(staff_client: Client) -> None:
    populate(2)
    for model in project_models():
        assert staff_client.get(admin_url(model, "changelist")).status_code == 200, model
        if admin.site._registry[model].has_add_permission(_request_for(staff_client)):
            assert staff_client.get(admin_url(model, "add")).status_code == 200, model
        obj = model._default_manager.first()
        assert obj is not None, model
        assert staff_client.get(admin_url(model, "change", obj.pk)).status_code == 200, model


def test_every_changelist_answers_a_search(staff_client: Client) -> None:
    populate(1)
    for model in project_models():
        response = staff_client.get(admin_url(model, "changelist"), {"q": "a"})
        assert response.status_code == 200, model


def _request_for(client: Client) -> Any:
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=client.session["_auth_user_id"])
    return request


def _changelist_queries(client: Client, model: type[Model]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_changelist_query_count_does_not_grow_with_rows(staff_client: Client) -> None:
    populate(2)
    before = {model: _changelist_queries(staff_client, model) for model in project_models()}
    populate(5)
    after = {model: _changelist_queries(staff_client, model) for model in project_models()}
    assert after == before
