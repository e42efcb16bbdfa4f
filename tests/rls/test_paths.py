"""Every path to the data goes through the same policies: admin, JSON API, cached selectors, the metrics view,
threads, async code and a second alias (the replica's)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission, User
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from dashboards.models import StudentMetrics
from dashboards.refresh import materialized_view_refresh
from dashboards.selectors.metrics import student_metrics_lowest_attendance
from growthcompass.rls import rls_context, rls_system_context
from students.models import Student
from students.selectors import student_get
from tests.db.aliases import alias_for_url, suite_database_url
from tests.rls.school import School


def _login(user: User) -> Client:
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["students", "courses"]))
    client = Client()
    client.force_login(user)
    return client


def _numbers(school_part: Any) -> set[str]:
    return {s.student_number for s in school_part.students}


def test_the_admin_changelist_lists_only_the_teachers_students(school: School) -> None:
    with rls_system_context(reason="permissions"):
        client = _login(school.a.teacher)
    page = client.get(reverse("admin:students_student_changelist")).content.decode()
    assert all(number in page for number in _numbers(school.a))
    assert not any(number in page for number in _numbers(school.b))


def test_another_teachers_student_by_url_answers_404_naming_nobody(school: School) -> None:
    with rls_system_context(reason="permissions"):
        client = _login(school.a.teacher)
    theirs = school.b.students[0]
    response = client.get(reverse("admin:students_student_change", args=[theirs.pk]))
    assert response.status_code == 404
    assert theirs.student_number not in response.content.decode()
    mine = school.a.students[0]
    assert client.get(reverse("admin:students_student_change", args=[mine.pk])).status_code == 200


def test_an_administrator_sees_every_student_in_the_admin(school: School) -> None:
    client = Client()
    client.force_login(school.admin)
    page = client.get(reverse("admin:students_student_changelist")).content.decode()
    assert all(number in page for number in _numbers(school.a) | _numbers(school.b))


def test_the_json_api_serves_only_the_teachers_rows(school: School) -> None:
    client = Client()
    client.force_login(school.b.teacher)
    body = client.get("/api/students/").json()
    assert {row["id"] for row in body["rows"]} == {s.pk for s in school.b.students}
    assert body["total"] == len(school.b.students)
    assert client.get("/api/guardians/").json()["total"] == len(school.b.guardians)


def test_a_cached_student_is_never_handed_to_a_teacher_who_may_not_see_them(school: School, cache_store: Any) -> None:
    mine = school.a.students[0]
    with rls_context(user=school.admin):
        assert student_get(mine.pk) is not None  # loaded and cached in the administrators' scope
        assert student_get(mine.pk) is not None
    with rls_context(user=school.b.teacher):
        assert student_get(mine.pk) is None
    with rls_context(user=school.a.teacher):
        assert student_get(mine.pk) is not None
    # A teacher's miss is not cached as an absence for everybody.
    with rls_context(user=school.office):
        assert student_get(mine.pk) is not None


def test_the_metrics_view_shows_a_teacher_only_their_students(school: School) -> None:
    with rls_system_context(reason="refresh"):
        materialized_view_refresh(concurrently=False)
        assert StudentMetrics.objects.count() == Student.objects.count()
    with rls_context(user=school.a.teacher):
        assert set(StudentMetrics.objects.values_list("pk", flat=True)) == {s.pk for s in school.a.students}
        ranked = {m.pk for m in student_metrics_lowest_attendance(grade=None, limit=50)}
        assert ranked <= {s.pk for s in school.a.students}
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM attendance_weekly_mv")
            assert cursor.fetchone() == (0,)
    assert not StudentMetrics.objects.exists()


def test_a_teacher_may_not_refresh_the_materialized_views(school: School) -> None:
    with rls_context(user=school.a.teacher), pytest.raises(Exception, match="needs a staff or system scope"):
        materialized_view_refresh(concurrently=False)


@pytest.mark.django_db(transaction=True)
def test_a_thread_starts_with_no_scope_and_keeps_its_own(committed_school: School) -> None:
    school = committed_school
    seen: dict[str, set[int]] = {}

    def read(name: str, user: User | None) -> None:
        try:
            if user is None:
                seen[name] = set(Student.objects.values_list("pk", flat=True))
            else:
                with rls_context(user=user):
                    seen[name] = set(Student.objects.values_list("pk", flat=True))
        finally:
            connections.close_all()

    with rls_context(user=school.admin):
        threads = [
            threading.Thread(target=read, args=("inherited", None)),
            threading.Thread(target=read, args=("b", school.b.teacher)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert seen == {"inherited": set(), "b": {s.pk for s in school.b.students}}


@pytest.mark.django_db(transaction=True)
def test_async_code_keeps_the_scope_it_was_called_in(committed_school: School) -> None:
    school = committed_school

    async def view() -> set[int]:
        return await sync_to_async(lambda: set(Student.objects.values_list("pk", flat=True)))()

    with rls_context(user=school.a.teacher):
        assert asyncio.run(view()) == {s.pk for s in school.a.students}
    assert asyncio.run(view()) == set()


@pytest.fixture(scope="module")
def replica_alias(django_db_setup: None, django_db_blocker: Any) -> Any:
    """A second alias on the same database, as the replica alias is in tests (configured before the test's)."""
    with django_db_blocker.unblock(), alias_for_url("rls_replica", suite_database_url()):
        yield


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_second_alias_such_as_the_replica_gets_the_same_scope(replica_alias: None, committed_school: School) -> None:
    school = committed_school
    assert not Student.objects.using("rls_replica").exists()
    with rls_context(user=school.b.teacher, using="rls_replica"):
        assert set(Student.objects.using("rls_replica").values_list("pk", flat=True)) == {
            s.pk for s in school.b.students
        }
    with rls_context(user=school.admin):
        assert Student.objects.using("rls_replica").count() == Student.objects.count() > 0
