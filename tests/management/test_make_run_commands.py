"""The commands ``make run`` executes work as an application runs them: with no fallback scope.

The suite's settings bind a system scope of row-level security to statements
that declare none (``RLS_FALLBACK_CONTEXT = "system"``), so a command that
forgets to declare its own scope for some step still passes every other test.
In an application nothing is bound and that step reads no rows or is refused:
``seed_demo`` once refreshed the materialized views outside its scope and
ended ``make run`` in a traceback on a fresh clone.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from growthcompass.rls import rls_system_context
from students.models import Student


@pytest.fixture
def no_fallback_scope(settings: Any) -> Iterator[None]:
    settings.RLS_FALLBACK_CONTEXT = None  # as in an application: nothing bound unless declared
    yield


def _student_count() -> int:
    with rls_system_context(reason="test: count what seed_demo loaded"):
        return Student.objects.count()


@pytest.mark.django_db
def test_seed_demo_loads_and_refreshes_in_its_own_scope(no_fallback_scope: None) -> None:
    out = io.StringIO()
    call_command("seed_demo", students=4, reset=True, stdout=out, stderr=io.StringIO())
    assert _student_count() == 4
    assert "Refreshed student_metrics_mv: 4 rows." in out.getvalue()
    with rls_system_context(reason="test: read the refreshed view"), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM student_metrics_mv")
        assert cursor.fetchone() == (4,)


@pytest.mark.django_db
def test_seed_demo_if_empty_then_refresh_views_and_dev_login(no_fallback_scope: None) -> None:
    call_command("seed_demo", students=3, reset=True, no_refresh=True, stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("seed_demo", students=3, if_empty=True, stdout=out, stderr=io.StringIO())
    assert "already present" in out.getvalue()
    out = io.StringIO()
    call_command("refresh_views", stdout=out, stderr=io.StringIO())
    assert "student_metrics_mv" in out.getvalue()
    out = io.StringIO()
    call_command("dev_login", stdout=out, stderr=io.StringIO())
    assert "admin" in out.getvalue().lower()


@pytest.mark.django_db
def test_seed_demo_as_a_teacher_is_refused_in_one_line(no_fallback_scope: None) -> None:
    call_command("seed_demo", students=3, reset=True, no_refresh=True, stdout=io.StringIO(), stderr=io.StringIO())
    with rls_system_context(reason="test: pick a teacher"):
        from courses.models import Course

        teacher = Course.objects.exclude(teacher=None).values_list("teacher__username", flat=True).first()
    assert teacher
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", students=3, reset=True, as_user=teacher, stdout=io.StringIO(), stderr=io.StringIO())
    assert "\n" not in str(refused.value)
    assert _student_count() == 3
