"""No row crosses from one teacher to the other, or to a request without a scope, through a pool of 2.

Requests alternate between two teachers and anonymous callers, from several threads, on the default
alias and on a second one (as the replica alias is); some raise in the middle of a transaction.
The default suite runs 600 requests; the slow suite the full 10,000.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from auditing.middleware import AuditContextMiddleware
from students.models import Student
from tests.db.aliases import alias_for_url, suite_database_url
from tests.rls.school import School

ALIASES = ("default", "rls_leak_replica")


class Boom(Exception):
    """Raised by a request in the middle of its transaction."""


@pytest.fixture(scope="module")
def leak_replica(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock(), alias_for_url(ALIASES[1], suite_database_url()):
        yield


@pytest.fixture
def pool_of_two(leak_replica: None) -> Iterator[None]:
    """Every alias's pool holds at most 2 connections for the test."""
    saved = {}
    for alias in ALIASES:
        connection = connections[alias]
        connection.close_pool()  # type: ignore[attr-defined]
        pool = connection.settings_dict["OPTIONS"]["pool"]
        saved[alias] = dict(pool)
        pool.update(min_size=1, max_size=2, timeout=30)
    yield
    for alias in ALIASES:
        connections[alias].close_pool()  # type: ignore[attr-defined]
        connections[alias].settings_dict["OPTIONS"]["pool"] = saved[alias]


def _view(request: HttpRequest) -> HttpResponse:
    """Read the students a request may see, on the alias it asks for; raise mid-transaction when asked."""
    alias = request.GET["alias"]
    with transaction.atomic(using=alias):
        seen = set(Student.objects.using(alias).values_list("pk", flat=True))
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT id FROM students")
            seen |= {row[0] for row in cursor.fetchall()}
        request.seen = seen  # type: ignore[attr-defined]
        if request.GET.get("raise"):
            raise Boom
    return HttpResponse()


def _run(school: School, requests: int, threads: int) -> dict[str, int]:
    middleware = AuditContextMiddleware(_view)
    factory = RequestFactory()
    expected = {
        school.a.teacher.pk: {s.pk for s in school.a.students},
        school.b.teacher.pk: {s.pk for s in school.b.students},
    }
    callers: list[User | AnonymousUser] = [school.a.teacher, school.b.teacher, AnonymousUser()]
    tally = {"requests": 0, "foreign_rows": 0, "rows_without_scope": 0, "raised": 0}
    lock = threading.Lock()

    def worker(offset: int) -> None:
        try:
            for i in range(offset, requests, threads):
                user = callers[i % 3]
                params = {"alias": ALIASES[(i // 3) % 2]}
                if i % 7 == 0:
                    params["raise"] = "1"
                request = factory.get("/students/", params)
                request.user = user
                raised = False
                try:
                    middleware(request)
                except Boom:
                    raised = True
                seen: set[int] = request.seen  # type: ignore[attr-defined]
                with lock:
                    tally["requests"] += 1
                    tally["raised"] += raised
                    if isinstance(user, AnonymousUser):
                        tally["rows_without_scope"] += len(seen)
                    else:
                        tally["foreign_rows"] += len(seen - expected[user.pk])
                        assert seen == expected[user.pk], (i, user)
                # The end of a request: its connections go back to the pool.
                for alias in ALIASES:
                    connections[alias].close()
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return tally


def _check(tally: dict[str, int], requests: int) -> None:
    assert tally["requests"] == requests
    assert tally["raised"] > 0
    assert tally["foreign_rows"] == 0
    assert tally["rows_without_scope"] == 0


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_no_row_leaks_across_teachers_or_to_no_scope(pool_of_two: None, committed_school: School) -> None:
    _check(_run(committed_school, requests=600, threads=3), 600)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_no_row_leaks_in_ten_thousand_requests(pool_of_two: None, committed_school: School) -> None:
    _check(_run(committed_school, requests=10_000, threads=4), 10_000)
