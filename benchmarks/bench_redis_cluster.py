"""The cached read on one Redis against the same read on a three-master Redis Cluster, in one run.

A cluster is started on loopback for the run (``growthcompass.devservers.redis_topology``:
three masters, no replicas -- replicas do not serve these reads) and the
configured ``REDIS_URL`` is the baseline. Both stores read the same student
entry through ``CacheStore.get`` (what ``student_get`` does), and the same
100-id batch through ``get_many``, interleaved in blocks so load drift lands on
both. Rows:

* a cached ``get`` on one Redis (baseline) and on the cluster (informative:
  redis-py's cluster client routes each command by slot);
* a cached ``get_many`` of 100 ids on one Redis (one ``MGET``) and on the
  cluster (one ``MGET`` per slot, pipelined per master: the 16 buckets of
  ``growthcompass.cache.keys``).

Without a ``redis-server`` binary (``make redis-deps``) or free loopback ports the
rows say so and carry no figures.

    python benchmarks/bench_redis_cluster.py [--scale small|default]   # or: make bench
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.timing import Row

NAME = "redis_cluster"
RUNS = {"small": 3_000, "default": 5_000, "large": 5_000}
BLOCK = 50
SEED = 42
OPERATIONS = (
    "cached get, one Redis",
    "cached get, 3-master cluster",
    "get_many(100), one Redis",
    "get_many(100), cluster",
)


def _skipped(reason: str) -> list[Row]:
    from benchmarks.timing import Row

    return [Row(NAME, operation, 0.0, 0.0, "", None, None, "informative", None, reason) for operation in OPERATIONS]


def run(scale: str) -> list[Row]:
    from django.conf import settings
    from django.test.utils import override_settings

    from benchmarks.timing import interleaved, row
    from growthcompass.cache import build_store
    from growthcompass.cache.config import caches_from_url
    from growthcompass.devservers.redis_topology import ClusterTopology, redis_server_binary
    from students.cache import STUDENT_FAMILY
    from students.models import Student

    if redis_server_binary() is None:
        return _skipped("skipped: no redis-server binary (make redis-deps)")
    ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
    if len(ids) < 200:
        raise RuntimeError(f"the benchmark needs at least 200 students, found {len(ids)}: seed the demo data first")
    hot_id = ids[len(ids) // 2]
    batch = random.Random(SEED).sample(ids, 100)
    prefix = f"{settings.CACHES['default']['KEY_PREFIX']}-bench-cluster"
    try:
        cluster = ClusterTopology(masters=3, replicas_per_master=0).start()
    except RuntimeError as exc:
        return _skipped(f"skipped: the cluster did not start ({exc})")
    try:
        caches = {
            "default": caches_from_url(settings.REDIS_URL, key_prefix=prefix)["default"],
            "cluster": caches_from_url(cluster.url(), key_prefix=prefix)["default"],
        }
        with override_settings(CACHES=caches, CACHE_LOCAL_TIER=False, CACHE_LISTENER_IN_PROCESS=False):
            one = build_store("default")
            spread = build_store("cluster")
            try:
                for store in (one, spread):
                    store.flush_all()
                    store.get_many(STUDENT_FAMILY, [hot_id, *batch])  # cached before timing
                    if not all(store.client.exists(store.key("student", i)) for i in [hot_id, *batch]):
                        raise RuntimeError("the entries were not cached before timing")
                samples = interleaved(
                    {
                        OPERATIONS[0]: lambda: one.get(STUDENT_FAMILY, hot_id),
                        OPERATIONS[1]: lambda: spread.get(STUDENT_FAMILY, hot_id),
                        OPERATIONS[2]: lambda: one.get_many(STUDENT_FAMILY, batch),
                        OPERATIONS[3]: lambda: spread.get_many(STUDENT_FAMILY, batch),
                    },
                    runs=RUNS[scale],
                    block=BLOCK,
                )
            finally:
                for store in (one, spread):
                    store.flush_all()
                    store.close()
    finally:
        cluster.stop()
    note = "every read a Redis hit"
    return [
        row(NAME, OPERATIONS[0], samples[OPERATIONS[0]], target="baseline", note=note),
        row(
            NAME,
            OPERATIONS[1],
            samples[OPERATIONS[1]],
            baseline=OPERATIONS[0],
            baseline_sample=samples[OPERATIONS[0]],
            target="informative",
        ),
        row(NAME, OPERATIONS[2], samples[OPERATIONS[2]], target="baseline"),
        row(
            NAME,
            OPERATIONS[3],
            samples[OPERATIONS[3]],
            baseline=OPERATIONS[2],
            baseline_sample=samples[OPERATIONS[2]],
            target="informative",
        ),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
