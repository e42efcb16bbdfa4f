"""A Redis Cluster master killed (SIGKILL) under a read and write loop; its replica takes over.

Three masters, each with a replica, on loopback; the store on
``REDIS_URL=redis+cluster://...``. The master serving some of the students'
buckets dies mid-loop: reads keep returning the right rows (from PostgreSQL
while the cluster fails over), the cluster's promotion of the replica is
noticed as another server (the masters' ``run_id``s changed) and treated like a
restart -- everything invalidated -- and afterwards no cached entry disagrees
with PostgreSQL. The error window is printed.

Unlike the Sentinel test, no stale entry is planted on the replica first: a
cluster replica refuses writes (it redirects them to its master), so the lost
invalidation cannot be staged; the flush that would remove one is asserted
instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings
from redis.exceptions import RedisError

from growthcompass.cache import CacheStore, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.cache.registry import family
from growthcompass.devservers.redis_topology import ClusterTopology, RedisNode, redis_server_binary
from students.models import Student
from students.selectors import student_get
from tests.factories import StudentFactory
from tests.faults.conftest import Deadline, run_in_threads
from tests.faults.failover_loop import READS_PER_PHASE, Loop, hits, read_and_write_own_students

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

READERS = 4
STUDENTS_PER_READER = 8

if redis_server_binary() is None:
    pytest.skip("no redis-server binary: run `make redis-deps`", allow_module_level=True)


@pytest.fixture
def cluster() -> Iterator[ClusterTopology]:
    with ClusterTopology(masters=3, replicas_per_master=1, node_timeout_ms=1000) as topology:
        yield topology


@pytest.fixture
def store(cluster: ClusterTopology) -> Iterator[CacheStore]:
    caches = caches_from_url(cluster.url(), key_prefix="gc-faults-cluster")
    with override_settings(CACHES=caches, CACHE_RETRY_AFTER_S=0.1, CACHE_RETRY_AFTER_MAX_S=0.5):
        yield get_store()
        reset_store()


def promoted(cluster: ClusterTopology, slot: int, victim: RedisNode) -> bool:
    try:
        return cluster.master_of_slot(slot) is not victim
    except (RuntimeError, RedisError, OSError):
        return False  # no live node answers for the slot yet


def test_a_killed_cluster_master_serves_correct_reads_throughout_and_leaves_nothing_stale(
    cluster: ClusterTopology, store: CacheStore, capsys: pytest.CaptureFixture[str]
) -> None:
    students = StudentFactory.create_batch(READERS * STUDENTS_PER_READER)
    owned = [students[i::READERS] for i in range(READERS)]
    assert store.cluster
    store.check_server()  # marks the cluster with its masters' identities
    for student in students:
        student_get(student.pk)
    # The hash tags spread the entries over every master.
    per_master = [int(node.client().dbsize()) for node in cluster.masters]
    assert all(count > 0 for count in per_master), per_master
    # The victim: the master holding the first student's entry.
    slot = int(store.client.keyslot(store.key("student", students[0].pk)))  # type: ignore[attr-defined]
    victim = cluster.master_of_slot(slot)
    loop = Loop()
    window: dict[str, float] = {}
    failures: list[BaseException] = []

    def switch_phases() -> None:
        try:
            Deadline(30).poll(lambda: loop.total_reads("before") >= READS_PER_PHASE, "reads with every master up")
            killed_at = time.monotonic()
            victim.kill()
            with loop.lock:
                loop.phase = "failover"
            Deadline(60).poll(
                lambda: promoted(cluster, slot, victim), "the replica taking the slots over", interval_s=0.01
            )
            window["promoted_s"] = time.monotonic() - killed_at
            Deadline(60).poll(
                lambda: store.server_changes >= 1 and not store.breaker.failing,
                "the store noticing the new master and reading from it",
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
        except BaseException as exc:
            window["conductor_error"] = 1.0
            failures.append(exc)
            raise
        finally:
            loop.stop.set()

    errors_before = int(store.statistics()["totals"]["errors"])
    conductor = threading.Thread(target=switch_phases, daemon=True)
    conductor.start()
    errors = run_in_threads(READERS, lambda i: read_and_write_own_students(loop, owned[i]), timeout_s=180)
    conductor.join(5)

    assert failures == []
    assert errors == []
    assert loop.wrong == []
    assert min(loop.reads[phase] for phase in ("before", "failover", "after")) >= READS_PER_PHASE, loop.reads
    assert loop.writes["failover"] > 0 and loop.writes["after"] > 0, loop.writes
    assert store.server_changes >= 1, "the promotion was treated like a restart"
    codec = family("student").codec
    cached = 0
    for student in Student.objects.filter(pk__in=[s.pk for s in students]):
        raw = store.client.get(store.key("student", student.pk))
        if isinstance(raw, bytes):
            cached += 1
            assert codec.decode(raw).grade_level == student.grade_level, student.pk
    assert cached > 0, "the cache is in use after the failover"
    totals = store.statistics()["totals"]

    with capsys.disabled():
        print(
            f"\nRedis Cluster master killed (node timeout 1000 ms): replica serving its slots "
            f"{window['promoted_s']:.2f} s after the kill; reads served from Redis again after "
            f"{window['recovered_s']:.2f} s (the error window; {loop.reads['failover']} reads went to PostgreSQL "
            f"meanwhile, 0 wrong); Redis errors counted {int(totals['errors']) - errors_before}; "
            f"entries per master before: {per_master}"
        )
