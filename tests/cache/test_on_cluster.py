"""The cache tests again, against a Redis Cluster of three masters (each with a replica) on loopback.

With them, the other tests of what talks to Redis: the shared hash
(``growthcompass.redis_hash``), the metrics collectors, the health checks,
the shared query metrics and the registry app's cache family.

The tests under ``tests/cache/`` reach Redis through ``settings.REDIS_URL``, so
the most faithful way to run them on a cluster is to run them unchanged in a
pytest of their own whose ``REDIS_URL`` is ``redis+cluster://...``: the store,
its scripts (keys hash-tagged per family and bucket, one tag for cached
querysets), the listener, the in-process tier's pub/sub, the statistics and
the commands all run on ``RedisCluster``. The child uses a database of its own
(``<name>_cluster``) so it never meets this run's test database.

Left out, and why:

* ``test_batch``'s two round-trip counts: they pin the single-Redis contract
  (one ``MGET``, one ``EVALSHA``). On a cluster a batch is one ``MGET`` per
  slot, pipelined per master, and one fill per bucket -- by design.
* ``test_redis_down``: it starts a private single Redis of its own and never
  touches ``REDIS_URL``; it would only run again what the default suite ran.
* the slow tests (``-m "not slow"``): the 500-miss stampede and the
  every-writer race harness run in the slow suite on one Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from growthcompass.devservers.redis_topology import ClusterTopology, redis_server_binary
from tests.db.aliases import owner_database_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
LEFT_OUT = [
    "--deselect",
    "tests/cache/test_batch.py::test_any_number_of_misses_is_one_query_and_two_round_trips",
    "--deselect",
    "tests/cache/test_batch.py::test_all_hits_are_one_round_trip_and_no_query",
    "--ignore",
    "tests/cache/test_redis_down.py",
    "--ignore",
    "tests/cache/test_on_cluster.py",
]


ALSO = [
    "tests/test_redis_hash.py",
    "tests/metrics/test_collectors.py",
    "tests/monitoring/test_health.py",
    "tests/monitoring/test_metrics_sharing.py",
    "tests/architecture/test_registries.py",
]


def child_database_url() -> str:
    """This run's PostgreSQL, under a database name of the child's own."""
    params = connection.settings_dict
    user = quote(str(params.get("USER") or "postgres"), safe="")
    password = f":{quote(str(params['PASSWORD']), safe='')}" if params.get("PASSWORD") else ""
    host = quote(str(params.get("HOST") or "127.0.0.1"), safe="")
    port = f":{params['PORT']}" if params.get("PORT") else ""
    name = str(params["NAME"]).removeprefix("test_")
    return f"postgres://{user}{password}@{host}{port}/{name}_cluster"


@pytest.mark.skipif(redis_server_binary() is None, reason="no redis-server binary: run `make redis-deps`")
def test_the_cache_tests_and_every_redis_user_pass_on_a_three_master_redis_cluster(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ClusterTopology(masters=3, replicas_per_master=1) as cluster:
        child_db = child_database_url()
        env = dict(
            os.environ,
            REDIS_URL=cluster.url(),
            DATABASE_URL=child_db,
            # The child migrates its own test database as the owner of the tables (row-level security).
            MIGRATION_DATABASE_URL=owner_database_url(child_db.rsplit("/", 1)[1]),
        )
        env.pop("DATABASE_URL_FILE", None)
        env.pop("REDIS_URL_FILE", None)
        result = subprocess.run(
            [*PYTEST, *LEFT_OUT, "tests/cache", *ALSO],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=840,
        )
        # Every master holds cache keys: the hash tags spread the families over the cluster.
        keys_per_master = [int(node.client().dbsize()) for node in cluster.masters]
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    with capsys.disabled():
        print(f"\ntests/cache on a 3-master Redis Cluster: {summary}; keys left per master {keys_per_master}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary
