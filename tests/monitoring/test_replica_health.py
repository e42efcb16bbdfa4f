"""The replica check against a real streaming standby of a private PostgreSQL (slow: builds two servers)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

from growthcompass.health.database import check_replica
from tests.monitoring.conftest import extra_alias

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

devservers = pytest.importorskip("growthcompass.devservers")


def _run_as() -> dict[str, Any]:
    """PostgreSQL refuses to run as root; run its tools as the account the dev servers use."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(devservers.postgres.SERVER_USER)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private primary (unix socket only); yields its socket directory."""
    root = tmp_path_factory.mktemp("primary")
    url = devservers.ensure_postgres(root)
    yield Path(unquote(urlsplit(url).hostname or ""))
    devservers.stop_postgres(root)


@pytest.fixture
def standby(primary: Path) -> Iterator[tuple[Path, Path]]:
    """A streaming standby of ``primary``; yields (data dir, socket dir). Stopped and removed afterwards."""
    run_as = _run_as()
    base = Path(tempfile.mkdtemp(prefix="gc-standby-"))
    data, sockets = base / "data", base / "s"
    sockets.mkdir()
    if run_as:
        for path in (base, sockets):
            os.chown(path, run_as["user"], run_as["group"])
    bin_dir = devservers.bin_dir()
    # A standby needs at least the primary's max_connections (the dev server runs with 200).
    options = (
        f"-c listen_addresses='' -c unix_socket_directories='{sockets}' -c port=5432 "
        "-c max_connections=200 -c shared_buffers=32MB"
    )
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60"]
    try:
        # A fast checkpoint instead of a spread one (which takes minutes), and no fsync of a throwaway copy.
        basebackup = [str(bin_dir / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream", "-c", "fast", "-N"]
        subprocess.run([*basebackup, "-h", str(primary), "-U", "postgres"], check=True, capture_output=True, **run_as)
        subprocess.run([*pg_ctl, "-o", options, "start"], check=True, capture_output=True, **run_as)
        yield data, sockets
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, **run_as)
        shutil.rmtree(base, ignore_errors=True)


def test_a_streaming_standby_is_healthy_then_fails_fast_once_stopped(primary: Path, standby: tuple[Path, Path]) -> None:
    data, sockets = standby
    with psycopg.connect(host=str(primary), user="postgres", dbname="growthcompass", autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS replica_probe (n int)")
        conn.execute("INSERT INTO replica_probe VALUES (1)")

    with extra_alias("standby", HOST=str(sockets), PORT="5432", NAME="growthcompass", USER="postgres", PASSWORD=""):
        healthy = check_replica("standby")
        assert healthy.ok, healthy.detail
        assert healthy.data["lag_s"] is not None and healthy.data["lag_s"] < 30
        assert healthy.detail.startswith("round trip ")

        bin_dir = devservers.bin_dir()
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=True,
            capture_output=True,
            **_run_as(),
        )
        down = check_replica("standby")
    assert not down.ok
    assert "unreachable" in down.detail
