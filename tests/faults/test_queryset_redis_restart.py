"""Cached querysets across a real Redis restart (SIGKILL, then a new empty server on the same socket).

A Redis without persistence comes back empty: the table generations restart
from nothing and every bump sent while it was gone is lost. What must hold:
reads are right while it is down (PostgreSQL), a write made while it was
down is seen after it is back, a query that began before the kill cannot
store its (possibly stale) rows into the new server, and the cache is used
again once Redis is back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db.models import QuerySet
from django.test import override_settings

from growthcompass.cache import CacheStore, cached, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.cache.generations import TableGenerations
from students.models import Student
from tests.factories import StudentFactory
from tests.faults.conftest import Deadline, PrivateRedis

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def store(private_redis: PrivateRedis) -> Iterator[CacheStore]:
    caches = caches_from_url(private_redis.url, key_prefix="gc-faults-qs")
    with override_settings(CACHES=caches, CACHE_RETRY_AFTER_S=0.1, CACHE_RETRY_AFTER_MAX_S=0.5):
        yield get_store()
        reset_store()


def _entries(store: CacheStore) -> list[bytes]:
    return list(store.client.scan_iter(match=store.prefix + "qs:*", count=1000))


def _grades(queryset: QuerySet[Student]) -> list[int]:
    return sorted(student.grade_level for student in cached(queryset))


def test_cached_querysets_stay_right_across_a_redis_restart(private_redis: PrivateRedis, store: CacheStore) -> None:
    students = StudentFactory.create_batch(3, grade_level=6)
    sixth = Student.objects.filter(grade_level__gte=6)
    assert _grades(sixth) == [6, 6, 6]
    assert _entries(store), "stored before the kill"
    begun_before = TableGenerations(store.client, store.prefix).mark()  # a query that began before the kill
    first_pid = private_redis.pid

    private_redis.kill()
    Student.objects.filter(pk=students[0].pk).update(grade_level=9)  # its bump cannot reach Redis
    assert _grades(sixth) == [6, 6, 9]  # from PostgreSQL while Redis is gone

    private_redis.start()
    assert private_redis.pid != first_pid
    fresh = TableGenerations(store.client, store.prefix)
    # The query that began before the kill read the old rows: the new server refuses its fill.
    assert not fresh.fill(store.prefix + "qs:late", b"stale rows", tables=["students"], mark=begun_before, ttl_s=60)

    # Once the store tries Redis again, the write made while it was gone is seen, and then cached.
    Deadline(15).poll(lambda: _grades(sixth) == [6, 6, 9] and bool(_entries(store)), "cached again after restart")
    Student.objects.filter(pk=students[1].pk).update(grade_level=11)
    assert _grades(sixth) == [6, 9, 11]
    hits = store.statistics()["tables"].get("students", {}).get("hits", 0)
    assert _grades(sixth) == [6, 9, 11]
    assert store.statistics()["tables"]["students"]["hits"] == hits + 1, "served from the restarted Redis"
