"""A Sentinel-managed Redis loses its primary (SIGKILL) under a read and write loop.

Three sentinels watch a primary and a replica on loopback
(``growthcompass.devservers.redis_topology``); the store reaches them through
``REDIS_URL=redis+sentinel://...``. While the sentinels fail over, every read
falls through to PostgreSQL and is right; once the replica is promoted the
cache is used again, and nothing stale survives: the promoted replica is
given an entry the lost primary had invalidated (a write that never
replicated, done by writing to the replica alone), and it is never served,
because a store that finds another server than the one it marked invalidates
everything (``growthcompass.cache.failover``). The invalidation listener keeps
working through the failover. The error window is printed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection, connections
from django.test import override_settings

from growthcompass.cache import CacheStore, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.cache.registry import family
from growthcompass.devservers.redis_topology import SentinelTopology, redis_server_binary
from students.models import Student
from students.selectors import student_get
from tests.cache.conftest import ListenerHandle
from tests.factories import StudentFactory
from tests.faults.conftest import Deadline, run_in_threads
from tests.faults.failover_loop import READS_PER_PHASE, Loop, hits, read_and_write_own_students

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

READERS = 4
STUDENTS_PER_READER = 6

if redis_server_binary() is None:
    pytest.skip("no redis-server binary: run `make redis-deps`", allow_module_level=True)


@pytest.fixture
def sentinel() -> Iterator[SentinelTopology]:
    topology = SentinelTopology(f"gc-{uuid.uuid4().hex[:8]}", writable_replicas=True).start()
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture
def store(sentinel: SentinelTopology) -> Iterator[CacheStore]:
    # A service name of its own: django-redis keeps one pool per LOCATION for the process's life.
    caches = caches_from_url(sentinel.url(0), key_prefix="gc-faults-sentinel")
    with override_settings(CACHES=caches, CACHE_RETRY_AFTER_S=0.1, CACHE_RETRY_AFTER_MAX_S=0.5):
        yield get_store()
        reset_store()


def _plant_a_lost_invalidation(sentinel: SentinelTopology, store: CacheStore, student: Student) -> bytes:
    """Leave the replica holding ``student``'s old entry, which the primary has invalidated; returns it."""
    key = store.key("student", student.pk)
    assert student_get(student.pk) is not None
    old = store.client.get(key)
    assert isinstance(old, bytes), "the entry was cached on the primary"
    student.grade_level = (student.grade_level + 5) % 13
    student.save(update_fields=["grade_level"])
    assert store.client.get(key) is None, "the write invalidated it on the primary"
    replica = sentinel.replicas[0].client()
    Deadline(10).poll(lambda: replica.get(key) is None, "the invalidation replicated")
    replica.set(key, old)  # the replica alone: as if the invalidation had never reached it
    return old


def test_a_sentinel_failover_serves_correct_reads_throughout_and_leaves_nothing_stale(
    sentinel: SentinelTopology, store: CacheStore, capsys: pytest.CaptureFixture[str]
) -> None:
    students = StudentFactory.create_batch(READERS * STUDENTS_PER_READER)
    owned = [students[i::READERS] for i in range(READERS)]
    victim = StudentFactory.create()
    listener = ListenerHandle().start()
    old_primary = sentinel.primary
    store.check_server()  # marks the primary with its identity (the periodic turn would, within a second)
    replica = sentinel.replicas[0].client()
    Deadline(10).poll(lambda: replica.get(store.server_key) is not None, "the mark replicated")
    loop = Loop()
    window: dict[str, float] = {}

    def switch_phases() -> None:
        try:
            Deadline(30).poll(lambda: loop.total_reads("before") >= READS_PER_PHASE, "reads with the primary up")
            _plant_a_lost_invalidation(sentinel, store, victim)
            killed_at = time.monotonic()
            old_primary.kill()
            with loop.lock:
                loop.phase = "failover"
            Deadline(60).poll(
                lambda: sentinel.master_port() != old_primary.port,
                "the sentinels promoting the replica",
                interval_s=0.01,
            )
            window["promoted_s"] = time.monotonic() - killed_at
            # Served from Redis again: the store checked the new primary (and flushed) and a read succeeded.
            Deadline(60).poll(
                lambda: store.server_changes >= 1 and not store.breaker.failing,
                "the store noticing the new primary and reading from it",
                interval_s=0.01,
            )
            window["recovered_s"] = time.monotonic() - killed_at
            hits_after = hits(store)
            with loop.lock:
                loop.phase = "after"
            Deadline(30).poll(
                lambda: loop.total_reads("after") >= READS_PER_PHASE and hits(store) > hits_after,
                "reads after the failover, served from Redis",
            )
        finally:
            loop.stop.set()
            connections.close_all()  # this thread's own (the planted write), or the test database stays in use

    errors_before = int(store.statistics()["totals"]["errors"])
    conductor = threading.Thread(target=switch_phases, daemon=True)
    conductor.start()
    try:
        errors = run_in_threads(READERS, lambda i: read_and_write_own_students(loop, owned[i]), timeout_s=180)
        conductor.join(5)

        assert errors == []
        assert loop.wrong == []
        assert min(loop.reads[phase] for phase in ("before", "failover", "after")) >= READS_PER_PHASE, loop.reads
        assert loop.writes["failover"] > 0 and loop.writes["after"] > 0, loop.writes
        assert sentinel.current_primary() is sentinel.replicas[0]

        # The failover was noticed and treated like a restart: the planted stale entry is gone, never served.
        assert store.server_changes >= 1
        victim.refresh_from_db()
        summary = student_get(victim.pk)
        assert summary is not None and summary.grade_level == victim.grade_level
        # No entry in the promoted primary disagrees with PostgreSQL.
        codec = family("student").codec
        cached = 0
        for student in Student.objects.filter(pk__in=[s.pk for s in [*students, victim]]):
            raw = store.client.get(store.key("student", student.pk))
            if isinstance(raw, bytes):
                cached += 1
                assert codec.decode(raw).grade_level == student.grade_level, student.pk
        assert cached > 0, "the cache is in use on the new primary"

        # The listener came through: a raw-SQL write is invalidated on the new primary.
        probe = students[0]
        assert student_get(probe.pk) is not None
        with connection.cursor() as cursor:
            cursor.execute("UPDATE students SET grade_level = (grade_level + 1) %% 13 WHERE id = %s", [probe.pk])
        listener.wait_for("student", probe.pk)
        probe.refresh_from_db()
        summary = student_get(probe.pk)
        assert summary is not None and summary.grade_level == probe.grade_level
        totals = store.statistics()["totals"]
        assert totals["errors"] > errors_before
    finally:
        listener.stop()

    with capsys.disabled():
        print(
            f"\nSentinel failover (down-after 1000 ms): replica promoted {window['promoted_s']:.2f} s after the kill; "
            f"reads served from Redis again after {window['recovered_s']:.2f} s (the error window: reads went to "
            f"PostgreSQL meanwhile, {loop.reads['failover']} of them, 0 wrong); "
            f"Redis errors counted {int(totals['errors']) - errors_before}, bypassed reads {int(totals['bypassed'])}"
        )
