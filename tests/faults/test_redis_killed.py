"""Redis killed with SIGKILL in the middle of a read loop, then started again.

The cached selectors promise that Redis is an optimisation, never a
dependency: while it is gone every read falls through to PostgreSQL and still
returns the right answer (including writes committed while it was gone), and
once it is back the cache is used again without restarting anything. Here a
private ``redis-server`` really dies (``kill -9``, no shutdown) under several
threads that read and write their own students, and comes back on the same
socket with nothing in it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.test import override_settings

from growthcompass.cache import CacheStore, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from students.selectors import student_get
from tests.factories import StudentFactory
from tests.faults.conftest import Deadline, PrivateRedis, run_in_threads
from tests.faults.failover_loop import READS_PER_PHASE, Loop, hits, read_and_write_own_students

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

READERS = 4
STUDENTS_PER_READER = 8


@pytest.fixture
def store(private_redis: PrivateRedis) -> Iterator[CacheStore]:
    """The process's cache store on the private Redis, retrying it soon after an error."""
    caches = caches_from_url(private_redis.url, key_prefix="gc-faults-redis")
    with override_settings(CACHES=caches, CACHE_RETRY_AFTER_S=0.1, CACHE_RETRY_AFTER_MAX_S=0.5):
        yield get_store()
        reset_store()


def test_reads_stay_correct_while_redis_is_killed_and_use_the_cache_again_once_it_is_back(
    private_redis: PrivateRedis, store: CacheStore
) -> None:
    students = StudentFactory.create_batch(READERS * STUDENTS_PER_READER)
    owned = [students[i::READERS] for i in range(READERS)]
    first_pid = private_redis.pid
    loop = Loop()

    def switch_phases() -> None:
        try:
            Deadline(30).poll(lambda: loop.total_reads("before") >= READS_PER_PHASE, "reads with Redis up")
            private_redis.kill()
            with loop.lock:
                loop.phase = "down"
            Deadline(30).poll(lambda: loop.total_reads("down") >= READS_PER_PHASE, "reads with Redis killed")
            private_redis.start()
            hits_at_restart = hits(store)
            with loop.lock:
                loop.phase = "after"
            Deadline(30).poll(
                lambda: loop.total_reads("after") >= READS_PER_PHASE and hits(store) > hits_at_restart,
                "reads with Redis back, served from it again",
            )
        finally:
            loop.stop.set()

    conductor = threading.Thread(target=switch_phases, daemon=True)
    conductor.start()
    errors = run_in_threads(READERS, lambda i: read_and_write_own_students(loop, owned[i]), timeout_s=120)
    conductor.join(5)

    assert errors == []
    assert loop.wrong == []
    assert min(loop.reads[phase] for phase in ("before", "down", "after")) >= READS_PER_PHASE, loop.reads
    assert loop.writes["down"] > 0, "writes committed while Redis was away were read back"
    assert private_redis.pid != first_pid, "Redis really was a new process"

    # The outage was noticed (counted); the invalidations it held back were applied once Redis was back.
    Deadline(15).poll(lambda: not store.skipping_redis, "the store trying Redis again")
    probe = students[0]
    student_get(probe.pk)
    stats = store.statistics()
    assert stats["totals"]["errors"] >= 1
    assert stats["redis"]["connected"] is True
    assert store.pending_invalidations == 0
    # And the cache is in use again: the read was stored, and repeating it is a Redis hit.
    assert store.client.exists(store.key("student", probe.pk)), "the read was stored in the restarted Redis"
    hits_before = hits(store)
    assert student_get(probe.pk) == student_get(probe.pk)
    assert hits(store) >= hits_before + 2
