"""Concurrency: cold misses of one key run the query once; writers and readers racing never see a stale row.

The race harness runs writer and reader threads on one table for a bounded
number of writes. A writer publishes the version it wrote only once its
commit has returned -- for a write through Django, the moment its readers
must see it; for a write on a foreign connection, once the listener applied
its NOTIFY (the gap in between is the listener's latency, measured by
``benchmarks/bench_querysets.py``). Every read notes the newest published
version when it began and must return that version or a newer one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.test import override_settings

from growthcompass.cache import get_store, querysets, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.cache.querysets import declare, queryset_cache
from students.models import Student
from tests.cache.conftest import WAIT_S, ListenerHandle, wipe
from tests.db_roles import other_connection
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``count`` threads started together; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait(WAIT_S)
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 4)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


@pytest.fixture
def wide_pool_store(settings: Any, worker_id: str) -> Any:
    """The store on a Redis pool wide enough for 500 threads (past the pool, reads bypass Redis)."""
    prefix = f"{settings.CACHES['default']['KEY_PREFIX']}-test-{worker_id}"
    # django-redis keeps one pool per URL, whatever max_connections says: a URL of its own gets a new pool.
    url = settings.REDIS_URL + ("&" if "?" in settings.REDIS_URL else "?") + "client_name=gc-wide-pool"
    caches = caches_from_url(url, key_prefix=prefix, max_connections=600)
    # Waiters give up after the lock's TTL; on a loaded 2-core machine 500 threads need longer than the default.
    with override_settings(CACHES=caches, CACHE_STAMPEDE_LOCK_TTL_S=60.0):
        store = get_store()
        wipe(store)
        yield store
        reset_store()


@pytest.mark.slow
def test_500_concurrent_cold_misses_run_the_query_once(wide_pool_store):
    _concurrent_cold_misses_run_the_query_once(500)


def test_100_concurrent_cold_misses_run_the_query_once(wide_pool_store):
    _concurrent_cold_misses_run_the_query_once(100)


def _concurrent_cold_misses_run_the_query_once(readers: int) -> None:
    StudentFactory.create_batch(3, grade_level=5)
    builds = 0
    lock = threading.Lock()

    def build(grade: int) -> Any:
        nonlocal builds
        with lock:
            builds += 1
        return Student.objects.filter(grade_level=grade).order_by("pk")

    by_grade = declare(f"test_stampede_by_grade_{readers}", build, ttl=60)
    by_grade._plan_for(queryset_cache(), {"grade": 5})
    assert builds == 1  # the key is compiled once, here
    results: list[int] = []
    errors = in_threads(readers, lambda i: results.append(len(by_grade(grade=5))))
    assert errors == []
    assert results == [3] * readers
    assert builds - 1 == 1  # one reader loaded; the others waited for its value


class Versions:
    """The newest version whose commit every reader must see."""

    def __init__(self) -> None:
        self.published = 0
        self.lock = threading.Lock()

    def publish(self, version: int) -> None:
        with self.lock:
            self.published = max(self.published, version)


def race(
    cache_store: Any, *, writes: int, readers: int, external_every: int = 0, listener: ListenerHandle | None = None
) -> tuple[int, int]:
    """Run the harness; returns ``(reads, stale reads)``."""
    student = StudentFactory.create(grade_level=5, leaving_reason="0")
    versions = Versions()
    done = threading.Event()
    read_counts: list[int] = []
    stale: list[tuple[int, int]] = []
    version_of = declare(
        "test_race_version", lambda pk: Student.objects.filter(pk=pk).values_list("leaving_reason", flat=True), ttl=60
    )

    def write(version: int) -> None:
        if external_every and version % external_every == 0:
            assert listener is not None
            with other_connection() as other:  # outside Django, in a system scope (row-level security)
                other.execute("UPDATE students SET leaving_reason = %s WHERE id = %s", [str(version), student.pk])
            listener.barrier()
        elif version % 2:
            Student.objects.filter(pk=student.pk).update(leaving_reason=str(version))
        else:
            with connection.cursor() as cursor:
                cursor.execute("UPDATE students SET leaving_reason = %s WHERE id = %s", [str(version), student.pk])
        versions.publish(version)

    def work(i: int) -> None:
        if i == 0:
            try:
                for version in range(1, writes + 1):
                    write(version)
            finally:
                done.set()
            return
        reads = 0
        while not done.is_set():
            floor = versions.published
            (seen,) = version_of(pk=student.pk)
            reads += 1
            if int(seen) < floor:
                stale.append((floor, int(seen)))
        read_counts.append(reads)

    try:
        errors = in_threads(readers + 1, work)
    finally:
        querysets._declared.pop("test_race_version", None)  # each run declares its own
    assert errors == []
    return sum(read_counts), len(stale)


def test_racing_writers_and_readers_never_read_a_stale_row(cache_store):
    reads, stale = race(cache_store, writes=300, readers=4)
    assert reads > 0
    assert cache_store.statistics()["tables"]["students"]["hits"] > 0  # the cache did serve reads
    assert stale == 0


@pytest.mark.slow
def test_racing_writers_from_everywhere_and_readers_never_read_a_stale_row(cache_store, transactional_db):
    handle = ListenerHandle().start()
    try:
        reads, stale = race(cache_store, writes=3000, readers=8, external_every=3, listener=handle)
    finally:
        handle.stop()
    assert reads > 0
    assert stale == 0
