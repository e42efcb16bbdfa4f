"""The embedded development servers, against real PostgreSQL and Redis processes.

Every test gets its own fresh temporary root, so the checkout's own
``.devdata/`` servers are never touched, and the fixture stops whatever a
test started. Nothing here needs Django.

The roots are made with ``mkdtemp`` directly under ``/tmp`` rather than from
``tmp_path``: as root, PostgreSQL runs as the unprivileged ``pgserver`` user,
which must traverse every parent directory, and each pytest session that
starts (a concurrent run, an xdist controller) resets
``/tmp/pytest-of-<user>`` to mode 0700, locking it out mid-test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import psutil
import psycopg
import pytest
import redis

from growthcompass.devservers import (
    DevServerError,
    ensure_postgres,
    ensure_redis,
    postgres_status,
    redis_status,
    stop_postgres,
    stop_redis,
)
from tests.devservers.processes import processes_under

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _postmasters(devdata: Path) -> list[psutil.Process]:
    data_dir = str(devdata / "postgres")
    return [p for p in processes_under(devdata) if p.name() == "postgres" and data_dir in p.cmdline()]


def _query(url: str, statement: str) -> object:
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
        row = conn.execute(statement).fetchone()
    assert row is not None
    return row[0]


def _wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} still alive")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_start_use_reuse_and_stop(root: Path) -> None:
    db_url = ensure_postgres(root)
    redis_url = ensure_redis(root)

    # Real servers, reachable with the returned URLs, on unix sockets only.
    assert _query(db_url, "SELECT current_database()") == "growthcompass"
    assert _query(db_url, "SHOW listen_addresses") == ""
    assert str(_query(db_url, "SHOW server_version")).startswith("18.")
    assert _query(db_url, "SHOW wal_level") == "replica"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    client.set("greeting", "hello")
    assert client.get("greeting") == b"hello"
    assert client.connection_pool.connection_kwargs["path"].startswith(str(root))
    client.close()

    # dj_database_url (settings) reads the socket directory back as HOST.
    config = dj_database_url.parse(db_url)
    pg = postgres_status(root)
    assert config["HOST"] == pg["socket_dir"]
    assert pg["socket_dir"] == str(root / ".devdata" / "pg-socket")
    assert config["NAME"] == "growthcompass"
    assert pg["running"] and pg["version"] and pg["version"].startswith("18.")
    rd = redis_status(root)
    assert rd["running"] and rd["socket"] == str(root / ".devdata" / "redis.sock")

    # Idempotent: same server (no restart), same URL. Its speed is a benchmark's business, not a test's.
    assert ensure_postgres(root) == db_url
    assert ensure_redis(root) == redis_url
    assert postgres_status(root)["pid"] == pg["pid"]
    assert redis_status(root)["pid"] == rd["pid"]

    # Another database on the same server.
    other = ensure_postgres(root, dbname="growthcompass_bench")
    assert _query(other, "SELECT current_database()") == "growthcompass_bench"
    assert postgres_status(root)["pid"] == pg["pid"]

    # Stop both; stopping again is a no-op.
    assert stop_postgres(root) is True
    assert stop_redis(root) is True
    assert not postgres_status(root)["running"] and postgres_status(root)["pid"] is None
    assert not redis_status(root)["running"]
    assert stop_postgres(root) is False
    assert stop_redis(root) is False
    assert pg["pid"] is not None
    _wait_dead(pg["pid"])

    # Data survives a restart (reused across runs).
    db_url = ensure_postgres(root)
    assert _query(db_url, "SELECT id FROM kept") == 42
    assert postgres_status(root)["pid"] != pg["pid"]


def test_sigkilled_servers_are_restarted(root: Path) -> None:
    db_url = ensure_postgres(root)
    redis_url = ensure_redis(root)
    pg_pid, redis_pid = postgres_status(root)["pid"], redis_status(root)["pid"]
    assert pg_pid is not None and redis_pid is not None
    # Hold a connection open: its backend outlives the postmaster for a moment.
    conn = psycopg.connect(db_url, autocommit=True)

    os.kill(pg_pid, signal.SIGKILL)
    os.kill(redis_pid, signal.SIGKILL)
    _wait_dead(pg_pid)
    _wait_dead(redis_pid)
    assert not postgres_status(root)["running"]
    assert not redis_status(root)["running"]

    assert ensure_postgres(root) == db_url
    assert ensure_redis(root) == redis_url
    new_pg_pid, new_redis_pid = postgres_status(root)["pid"], redis_status(root)["pid"]
    assert new_pg_pid not in {None, pg_pid}
    assert new_redis_pid not in {None, redis_pid}
    assert _query(db_url, "SELECT 1") == 1
    assert redis.Redis.from_url(redis_url).ping()
    assert len(_postmasters(root / ".devdata")) == 1
    conn.close()


@pytest.mark.parametrize("stale_pid", ["dead", "recycled"])
def test_stale_pid_files_are_recovered(root: Path, stale_pid: str) -> None:
    ensure_postgres(root)
    ensure_redis(root)
    data_dir = Path(postgres_status(root)["data_dir"])
    socket_dir = Path(postgres_status(root)["socket_dir"])
    pid_file = data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    assert stop_postgres(root) and stop_redis(root)

    # A crash leaves postmaster.pid, the socket lock and the socket behind; the
    # pid in them is dead, or (worse) recycled by an unrelated live process,
    # which PostgreSQL alone would take for a running server.
    pid = _dead_pid() if stale_pid == "dead" else os.getpid()
    lines[0] = str(pid)
    pid_file.write_text("\n".join(lines) + "\n")
    socket_dir.mkdir(exist_ok=True)  # stop removes a /tmp fallback directory
    (socket_dir / ".s.PGSQL.5432.lock").write_text(f"{pid}\n{data_dir}\n")
    (socket_dir / ".s.PGSQL.5432").write_text("")
    (root / ".devdata" / "redis.pid").write_text(f"{pid}\n")
    (root / ".devdata" / "redis.sock").write_text("")

    db_url = ensure_postgres(root)
    redis_url = ensure_redis(root)
    assert _query(db_url, "SELECT 1") == 1
    assert redis.Redis.from_url(redis_url).ping()
    assert postgres_status(root)["pid"] not in {None, pid}
    assert redis_status(root)["pid"] not in {None, pid}


def test_concurrent_callers_share_one_server(root: Path) -> None:
    code = (
        "import json, sys; from pathlib import Path;"
        "from growthcompass.devservers import ensure_postgres, ensure_redis;"
        "root = Path(sys.argv[1]);"
        "print(json.dumps([ensure_postgres(root), ensure_redis(root)]))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(root)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert all(result == results[0] for result in results)
    assert len(_postmasters(root / ".devdata")) == 1
    redis_servers = [p for p in processes_under(root / ".devdata") if p.name() == "redis-server"]
    assert len(redis_servers) == 1
    assert _query(results[0][0], "SELECT 1") == 1


def test_long_or_mixed_case_root_uses_short_socket_dir(base: Path) -> None:
    root = base / ("CheckOut-" + "x" * 90)
    root.mkdir()
    try:
        db_url = ensure_postgres(root)
        redis_url = ensure_redis(root)
        socket_dir = postgres_status(root)["socket_dir"]
        assert socket_dir.startswith("/tmp/gc-pg-")
        # dj_database_url lower-cases the host; the fallback directory is lower case.
        assert dj_database_url.parse(db_url)["HOST"] == socket_dir
        assert _query(db_url, "SELECT 1") == 1
        assert redis.Redis.from_url(redis_url).ping()
        assert redis_status(root)["socket"].startswith("/tmp/gc-redis-")
    finally:
        stop_postgres(root)
        stop_redis(root)
    # The /tmp fallback directories go away with the servers.
    assert not Path(socket_dir).exists()
    assert not Path(redis_status(root)["socket"]).parent.exists()


def test_start_failure_raises_with_log_tail(root: Path) -> None:
    ensure_postgres(root)
    assert stop_postgres(root)
    conf = Path(postgres_status(root)["data_dir"]) / "postgresql.auto.conf"
    original = conf.read_text()
    conf.write_text(original + "shared_buffers = 'not a size'\n")
    with pytest.raises(DevServerError) as excinfo:
        ensure_postgres(root)
    message = str(excinfo.value)
    assert "did not start" in message
    assert "shared_buffers" in message  # from the server log
    conf.write_text(original)
    assert _query(ensure_postgres(root), "SELECT 1") == 1


def test_cli(root: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "growthcompass.devservers", *args, "--root", str(root)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    status = cli("status")
    assert status.returncode == 1, "status must fail when nothing runs"
    assert "postgres: not running" in status.stdout and "redis: not running" in status.stdout

    start = cli("start")
    assert start.returncode == 0, start.stderr
    urls = dict(line.split("=", 1) for line in start.stdout.splitlines())
    assert urls["DATABASE_URL"].startswith("postgres://postgres@%2F")
    assert urls["REDIS_URL"] == f"unix://{root}/.devdata/redis.sock?db=0"
    assert _query(urls["DATABASE_URL"], "SELECT 1") == 1

    status = cli("status", "--json")
    assert status.returncode == 0
    report = json.loads(status.stdout)
    assert report["postgres"]["running"] and report["redis"]["running"]
    assert "postgres: running (pid" in cli("status").stdout

    stop = cli("stop")
    assert stop.returncode == 0
    assert "postgres: stopped" in stop.stdout and "redis: stopped" in stop.stdout
    assert "was not running" in cli("stop").stdout
    assert cli("status").returncode == 1
