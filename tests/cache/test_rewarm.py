"""Re-warming: declared queries with ``rewarm=True`` are reloaded soon after a write deleted them.

The write comes from a connection of its own (raw psycopg, outside Django), so
only the database's NOTIFY path tells the listener; the test then reads
nothing until the entry is back, and checks that what came back is the new
data, served without a query.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from growthcompass.cache import querysets
from growthcompass.cache.querysets import CachedQuery, queryset_cache
from growthcompass.cache.warming import Rewarmer
from students.models import Student
from tests.cache.conftest import WAIT_S, ListenerHandle
from tests.db_roles import other_connection
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _declare(name: str, *, rewarm: bool) -> CachedQuery[Any]:
    return querysets.declare(
        name, lambda grade: Student.objects.filter(grade_level=grade).order_by("pk"), warm=[{"grade": 5}], rewarm=rewarm
    )


@pytest.fixture
def queries() -> Iterator[tuple[CachedQuery[Any], CachedQuery[Any]]]:
    hot, cold = _declare("test_rewarm_hot", rewarm=True), _declare("test_rewarm_cold", rewarm=False)
    yield hot, cold
    for name in ("test_rewarm_hot", "test_rewarm_cold"):
        querysets._declared.pop(name, None)


@pytest.fixture
def rewarming(cache_store: Any) -> Iterator[Rewarmer]:
    rewarmer = Rewarmer(delay_s=0.05).start()
    handle = ListenerHandle(on_tables=rewarmer.tables_moved).start()
    yield rewarmer
    handle.stop()
    rewarmer.stop()


def _key(query: CachedQuery[Any]) -> str:
    plan = query._plan_for(queryset_cache(), {"grade": 5})
    assert plan is not None
    return plan.key


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_write_from_another_connection_is_followed_by_a_rewarm_with_the_new_rows(
    cache_store: Any, queries: tuple[CachedQuery[Any], CachedQuery[Any]], rewarming: Rewarmer
) -> None:
    hot, cold = queries
    first = StudentFactory.create(grade_level=5)
    _wait(lambda: rewarming.rounds >= 1 and cache_store.client.exists(_key(hot)), "the first re-warm")
    assert [s.pk for s in hot(grade=5)] == [first.pk]
    assert len(cold(grade=5)) == 1 and cache_store.client.exists(_key(cold))
    rounds = rewarming.rounds

    with other_connection() as other:  # outside Django, in a system scope (row-level security)
        other.execute("UPDATE students SET grade_level = 6 WHERE id = %s", [first.pk])

    _wait(lambda: not cache_store.client.exists(_key(cold)), "the write deleting the entries")
    _wait(lambda: rewarming.rounds > rounds and cache_store.client.exists(_key(hot)), "the re-warm after the write")
    with CaptureQueriesContext(connection) as queried:
        assert hot(grade=5) == []  # the new rows: the student left grade 5
    assert len(queried) == 0, "served from the re-warmed entry"
    assert not cache_store.client.exists(_key(cold)), "a query without rewarm waits for its next reader"


def test_a_burst_of_writes_costs_one_round(cache_store: Any, queries: Any) -> None:
    rewarmer = Rewarmer(delay_s=0.3).start()
    try:
        for _ in range(50):
            rewarmer.tables_moved({"students"})
        _wait(lambda: rewarmer.rounds == 1, "one round after the burst")
        time.sleep(0.5)  # no second round follows without another write
        assert rewarmer.rounds == 1 and rewarmer.errors == 0
        assert rewarmer.stored == 1  # the hot query's one parameter set
    finally:
        rewarmer.stop()
