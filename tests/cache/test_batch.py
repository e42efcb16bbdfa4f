"""Batch reads: hits in one Redis round trip, all misses in one query, stored in one round trip."""

from __future__ import annotations

import re
from typing import Any

import pytest

from students.selectors import student_get, students_by_ids
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_maintenance_turn(settings: Any) -> None:
    """No periodic turn of the read path (the server check and the stats flush, due once a second) inside a count.

    On a fresh prefix that turn marks the server (a SET), so a run slow enough (behind a pooler, on a
    busy machine) to let a second pass would count it among the read's own round trips.
    Autouse, so it is in force before ``cache_store`` reads the options.
    """
    settings.CACHE_STATS_FLUSH_INTERVAL_S = 3600


class RoundTrips:
    """Counts the commands a Redis client sends (each is one round trip; the client stays real)."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.commands: list[str] = []
        original = client.execute_command

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.commands.append(str(args[0]))
            return original(*args, **kwargs)

        monkeypatch.setattr(client, "execute_command", counting)


@pytest.mark.parametrize("count", [1, 7, 60])
def test_any_number_of_misses_is_one_query_and_two_round_trips(
    cache_store, django_assert_num_queries, monkeypatch, count
):
    # A Redis that has never run the fill script answers NOSCRIPT once (redis-py then loads it): warm it.
    students_by_ids([StudentFactory.create().pk])
    ids = [StudentFactory.create().pk for _ in range(count)]
    trips = RoundTrips(cache_store.client, monkeypatch)

    with django_assert_num_queries(1):
        found = students_by_ids(ids)

    assert sorted(found) == sorted(ids)
    assert trips.commands == ["MGET", "EVALSHA"]  # look up all (and the counter), store all


def test_all_hits_are_one_round_trip_and_no_query(cache_store, django_assert_num_queries, monkeypatch):
    ids = [StudentFactory.create().pk for _ in range(20)]
    students_by_ids(ids)
    trips = RoundTrips(cache_store.client, monkeypatch)

    with django_assert_num_queries(0):
        found = students_by_ids(ids)

    assert [found[i].id for i in ids] == ids
    assert trips.commands == ["MGET"]


def test_a_mix_of_hits_and_misses_loads_only_the_misses(cache_store, django_assert_num_queries):
    ids = [StudentFactory.create().pk for _ in range(10)]
    for student_id in ids[:6]:
        student_get(student_id)

    with django_assert_num_queries(1) as queries:
        found = students_by_ids(ids)

    assert sorted(found) == sorted(ids)
    in_list = re.search(r"IN \(([^)]*)\)", queries.captured_queries[0]["sql"])
    assert in_list is not None
    assert {int(x) for x in in_list.group(1).split(",")} == set(ids[6:])


def test_unknown_ids_are_left_out_and_not_cached(cache_store):
    student = StudentFactory.create()
    found = students_by_ids([student.pk, 987654321])
    assert list(found) == [student.pk]
    assert not cache_store.client.exists(cache_store.key("student", 987654321))


def test_duplicate_ids_are_read_once(cache_store, django_assert_num_queries):
    student = StudentFactory.create()
    with django_assert_num_queries(1):
        assert list(students_by_ids([student.pk, student.pk, student.pk])) == [student.pk]
