"""Several worker processes, one scrape: counters summed over every worker, live gauges over live ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from growthcompass.db.monitoring import fingerprint
from growthcompass.metrics.multiprocess import prepare_directory
from tests.db.aliases import suite_database_url
from tests.metrics.conftest import parse, value
from tests.metrics.multiprocess_worker import PROBE_SQL

WORKER_TIMEOUT_S = 120  # a guard against a hung worker, not a speed limit
POOL_MAX = 3


def _env(directory: Path) -> dict[str, str]:
    env = {key: val for key, val in os.environ.items() if key != "PYTEST_VERSION"}
    env.update(
        DJANGO_SETTINGS_MODULE="growthcompass.settings",
        DJANGO_ENV="test",
        DATABASE_URL=suite_database_url(),
        REDIS_URL=settings.REDIS_URL,
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        DB_POOL_MIN_SIZE="1",
        DB_POOL_MAX_SIZE=str(POOL_MAX),
        LOG_LEVEL="WARNING",
    )
    return env


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.metrics.multiprocess_worker", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=settings.BASE_DIR,
    )


def _output(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=WORKER_TIMEOUT_S)
    assert process.returncode == 0, err
    return out


def test_a_scrape_sums_the_counters_of_every_worker(db: None, tmp_path: Path) -> None:
    env = _env(prepare_directory(tmp_path / "prometheus"))
    first, second = _worker(env, "serve", "3"), _worker(env, "serve", "4")
    pids = [json.loads(_output(first))["pid"], json.loads(_output(second))["pid"]]
    assert len(list((tmp_path / "prometheus").glob("counter_*.db"))) == 2, "each worker writes its own file"

    samples = parse(_output(_worker(env, "scrape")))

    assert value(samples, "gc_http_requests_total", route="/api/", method="GET", status="401") == 7
    statement, _ = fingerprint(PROBE_SQL)
    assert value(samples, "gc_db_queries_total", alias="default", statement=statement) == 7
    assert value(samples, "gc_db_pool_max_size", alias="default") == 2 * POOL_MAX

    # A worker that exited and was marked dead (gunicorn's child_exit) leaves the live gauges,
    # never the counters.
    after_exit = parse(_output(_worker(env, "scrape", str(pids[0]))))

    assert value(after_exit, "gc_db_pool_max_size", alias="default") == POOL_MAX
    assert value(after_exit, "gc_http_requests_total", route="/api/", method="GET", status="401") == 7
