"""The cached selectors against Redis itself, the in-process tier and the uncached ORM read.

Rows (every baseline is measured in the same run, on the same payload):

* a raw redis-py ``GET`` of a student entry's bytes -- the floor;
* ``student_get`` served from Redis (target: within 1.3x of the raw GET) and
  the uncached ORM read it replaces (target: the selector at least 3x faster);
* ``student_get`` served from the in-process tier (target: at least 20x faster
  than the raw GET);
* ``students_by_ids`` for 100 ids against 100 single reads, warm and cold;
* a Zipf-skewed read mix with 1% writes (ORM saves, invalidated on commit, with
  the listener running as well): its hit rate;
* how stale an entry can be: commit of a raw SQL write until the listener has
  deleted the entry, and an invalidation until another process's in-process
  tier has evicted it (informative: the bounds the README documents).

    python benchmarks/bench_cache.py [--scale small|default] [--reseed]   # or: make bench

``small`` is 1,000 students, ``default`` 10,000, from ``seed_demo`` in the
``<database>_bench`` database (reused when it already has the students). The
benchmark works under a key prefix of its own, which it empties first.
"""

from __future__ import annotations

import functools
import itertools
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.timing import Row

RUNS = {"small": 3_000, "default": 5_000, "large": 5_000}
MIX_READS = {"small": 20_000, "default": 50_000, "large": 100_000}
ZIPF_S = 1.1
WRITE_SHARE = 0.01
SEED = 42
NAME = "cache"
BLOCK = 50


def _wait(predicate: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Poll ``predicate()`` every 50 us; return the milliseconds until it held.

    The poll sleeps rather than spins: a spinning thread would keep the GIL
    from the listener or subscriber thread it is waiting for.
    """
    started = time.perf_counter()
    deadline = started + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out waiting for an invalidation")
        time.sleep(0.00005)
    return (time.perf_counter() - started) * 1000


def run(scale: str) -> list[Row]:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import override_settings

    from benchmarks.timing import batched, interleaved, row
    from growthcompass.cache import build_store, get_store
    from growthcompass.cache.config import caches_from_url
    from growthcompass.cache.listener import InvalidationListener
    from students.cache import STUDENT_FAMILY
    from students.models import Student
    from students.selectors import StudentSummary, student_get, students_by_ids

    runs = RUNS[scale]
    rng = random.Random(SEED)
    ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
    if len(ids) < 200:
        raise RuntimeError(f"the benchmark needs at least 200 students, found {len(ids)}: seed the demo data first")
    hot_id = ids[len(ids) // 2]
    batch_ids = rng.sample(ids, 100)
    prefix = f"{settings.CACHES['default']['KEY_PREFIX']}-bench-cache"
    caches = caches_from_url(settings.REDIS_URL, key_prefix=prefix)
    rows: list[Row] = []

    with override_settings(CACHES=caches, CACHE_LOCAL_TIER=False, CACHE_LISTENER_IN_PROCESS=False):
        store = get_store()
        _empty(store)
        client = store.client
        summary = student_get(hot_id)
        assert summary is not None
        raw_key = store.prefix + "bench:raw"
        client.set(raw_key, STUDENT_FAMILY.codec.encode(summary))

        def uncached() -> StudentSummary:
            return StudentSummary.from_model(Student.objects.select_related("user").get(pk=hot_id))

        single = interleaved(
            {
                "raw": lambda: client.get(raw_key),
                "cached": lambda: student_get(hot_id),
                "orm": uncached,
            },
            runs=runs,
            block=BLOCK,
        )
        rows.append(row(NAME, "raw redis-py GET (student entry bytes)", single["raw"], target="baseline"))
        rows.append(
            row(
                NAME,
                "student_get from Redis",
                single["cached"],
                baseline="raw GET",
                baseline_sample=single["raw"],
                target="<= 1.3x raw GET",
                max_ratio=1.3,
            )
        )
        rows.append(
            row(
                NAME,
                "student_get from Redis vs uncached ORM read",
                single["cached"],
                baseline="ORM select_related get",
                baseline_sample=single["orm"],
                target=">= 3x faster",
                min_speedup=3.0,
            )
        )

        students_by_ids(batch_ids)
        many = interleaved(
            {
                "batch": lambda: students_by_ids(batch_ids),
                "singles": lambda: [student_get(i) for i in batch_ids],
            },
            runs=max(100, runs // 10),
            block=10,
        )
        rows.append(
            row(
                NAME,
                "students_by_ids(100 ids), all cached",
                many["batch"],
                baseline="100 x student_get",
                baseline_sample=many["singles"],
                target="informative",
            )
        )
        cold_batch, cold_singles = _cold(store, batch_ids, runs=max(20, runs // 100))
        rows.append(
            row(
                NAME,
                "students_by_ids(100 ids), none cached",
                cold_batch,
                baseline="100 x student_get, none cached",
                baseline_sample=cold_singles,
                target="informative",
            )
        )
        client.delete(raw_key)

    with override_settings(CACHES=caches, CACHE_LOCAL_TIER=True, CACHE_LOCAL_TTL_S=60.0):
        store = get_store()
        assert store.subscriber is not None and store.subscriber.subscribed.wait(10)
        while store.key("student", hot_id) not in store.local._data:  # type: ignore[union-attr]
            student_get(hot_id)
        local = batched(lambda: student_get(hot_id), batch=200, samples=max(50, runs // 20))
        rows.append(
            row(
                NAME,
                "student_get from the in-process tier",
                local,
                baseline="raw GET",
                baseline_sample=single["raw"],
                target=">= 20x faster than raw GET",
                min_speedup=20.0,
            )
        )
        rows.append(_local_eviction_row(store, hot_id, build_store, row))

    with override_settings(CACHES=caches, CACHE_LOCAL_TIER=False):
        store = get_store()
        _empty(store)
        listener = InvalidationListener()
        import threading

        thread = threading.Thread(target=listener.run, daemon=True)
        thread.start()
        assert listener.ready.wait(10)
        try:
            rows.append(_listener_latency_row(store, ids, rng, connection, row))
            rows.append(_zipf_row(store, ids, scale, rng, single["orm"], row))
        finally:
            listener.stop()
            thread.join(5)
        _empty(store)
    return rows


def _empty(store: Any) -> None:
    keys = list(store.client.scan_iter(match=store.prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        store.client.unlink(*keys[start : start + 500])


def _gone(store: Any, key: str) -> bool:
    return not store.client.exists(key)


def _cold(store: Any, ids: list[int], *, runs: int) -> tuple[Any, Any]:
    """100 misses in one batch against 100 single misses (keys deleted before each, outside the timing)."""
    from benchmarks.timing import summarise
    from students.selectors import student_get, students_by_ids

    keys = [store.key("student", i) for i in ids]
    batch, singles = [], []
    for _ in range(runs):
        store.client.unlink(*keys)
        started = time.perf_counter()
        students_by_ids(ids)
        batch.append((time.perf_counter() - started) * 1000)
        store.client.unlink(*keys)
        started = time.perf_counter()
        for i in ids:
            student_get(i)
        singles.append((time.perf_counter() - started) * 1000)
    return summarise(batch), summarise(singles)


def _local_eviction_row(store: Any, student_id: int, build_store: Any, row: Any) -> Any:
    """An invalidation from another process until this process's tier has dropped the entry."""
    from benchmarks.timing import summarise
    from students.selectors import student_get

    other = build_store()
    key = store.key("student", student_id)
    timings = []
    try:
        for _ in range(50):
            while key not in store.local._data:
                student_get(student_id)
            started = time.perf_counter()
            other.invalidate({"student": frozenset({student_id})})
            _wait(lambda: key not in store.local._data)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        other.close()
    return row(
        NAME,
        "staleness: invalidation -> other process's local tier evicted",
        summarise(timings),
        target="informative (pub/sub)",
    )


def _listener_latency_row(store: Any, ids: list[int], rng: random.Random, connection: Any, row: Any) -> Any:
    """Commit of a raw SQL write until the listener has deleted the entry."""
    from benchmarks.timing import summarise
    from students.selectors import student_get

    timings = []
    for n in range(50):
        student_id = rng.choice(ids)
        key = store.key("student", student_id)
        student_get(student_id)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE students SET leaving_reason = %s WHERE id = %s", [f"bench {n}", student_id])
        # The cursor's statement has committed (autocommit) when execute returns.
        timings.append(_wait(functools.partial(_gone, store, key)))
    return row(
        NAME,
        "staleness: raw SQL commit -> entry deleted by the listener",
        summarise(timings),
        target="informative (NOTIFY)",
    )


def _zipf_row(store: Any, ids: list[int], scale: str, rng: random.Random, orm_sample: Any, row: Any) -> Any:
    """A skewed read mix with 1% writes, from a cold cache: the hit rate, and the read latency."""
    from benchmarks.timing import summarise
    from students.models import Student
    from students.selectors import student_get

    order = ids[:]
    rng.shuffle(order)  # popularity is unrelated to id
    weights = list(itertools.accumulate(1 / (rank**ZIPF_S) for rank in range(1, len(order) + 1)))
    total = MIX_READS[scale]
    picks = rng.choices(order, cum_weights=weights, k=total)
    store.flush_stats()
    store.reset_statistics()
    timings = []
    writes = 0
    for n, student_id in enumerate(picks):
        if rng.random() < WRITE_SHARE:
            student = Student.objects.get(pk=student_id)
            student.leaving_reason = f"mix {n}"
            student.save(update_fields=["leaving_reason"])  # invalidated on commit (and by the listener)
            writes += 1
            continue
        started = time.perf_counter()
        student_get(student_id)
        timings.append((time.perf_counter() - started) * 1000)
    stats = store.statistics()["families"]["student"]
    rate = stats["hit_rate"] or 0.0
    return row(
        NAME,
        f"Zipf(s={ZIPF_S}) reads over {len(ids)} students with {WRITE_SHARE:.0%} writes",
        summarise(timings),
        baseline="uncached ORM read",
        baseline_sample=orm_sample,
        target="informative",
        note=f"hit rate {rate:.1%}, {writes} writes",
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
