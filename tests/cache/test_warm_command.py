"""``cache_warm``: declared queries' warm parameter sets are loaded once, then left alone."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from growthcompass.cache import querysets
from students.models import Student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def by_grade():
    query = querysets.declare(
        "test_warm_by_grade",
        lambda grade: Student.objects.filter(grade_level=grade),
        ttl=60,
        warm=[{"grade": 5}, {"grade": 6}],
    )
    yield query
    querysets._declared.pop("test_warm_by_grade", None)


def warm(*args: str) -> str:
    out = StringIO()
    call_command("cache_warm", *args, stdout=out)
    return out.getvalue()


def test_warming_stores_each_parameter_set_then_leaves_it(cache_store, by_grade):
    StudentFactory.create(grade_level=5)
    assert not list(cache_store.client.scan_iter(match=cache_store.prefix + "qs:*"))
    first = json.loads(warm("--query", "test_warm_by_grade", "--json"))
    assert [(r["params"], r["status"]) for r in first] == [({"grade": 5}, "stored"), ({"grade": 6}, "stored")]
    again = warm("--query", "test_warm_by_grade")
    assert "test_warm_by_grade(grade=5): cached" in again
    assert "2 parameter sets: 0 stored" in again


def test_an_unknown_query_is_a_clear_error(cache_store, by_grade):
    with pytest.raises(CommandError, match=r"no cached query named nope \(declared: .*test_warm_by_grade"):
        warm("--query", "nope")
