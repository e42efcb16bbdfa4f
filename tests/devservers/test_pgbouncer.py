"""``python -m growthcompass.devservers.pgbouncer exec``: the command runs through a loopback PgBouncer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pgbouncer import require_pgbouncer, upstream_url

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, psycopg
url = os.environ["DATABASE_URL"]
with psycopg.connect(url, autocommit=True) as conn:
    port = conn.execute("SELECT inet_server_port()").fetchone()[0]
other_port = url.rsplit(":", 1)[1].split("/")[0] != str(port)
print(os.environ["DATABASE_POOLER"], other_port, os.environ["DATABASE_DIRECT_URL"])
sys.exit(3)
"""


def _exec(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "growthcompass.devservers.pgbouncer", "exec", "--", *command],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_exec_runs_the_command_through_pgbouncer_and_returns_its_exit_code() -> None:
    require_pgbouncer()
    upstream = upstream_url()
    done = _exec(sys.executable, "-c", CHILD, env={**os.environ, "DATABASE_URL": upstream})
    assert done.returncode == 3, done.stderr
    pooler, through_another_port, direct = done.stdout.strip().splitlines()[-1].split(" ")
    assert pooler == "pgbouncer"
    assert through_another_port == "True", "the child's DATABASE_URL is PgBouncer's port, not the server's"
    assert direct == upstream
    assert "PgBouncer (transaction mode) on 127.0.0.1:" in done.stdout


def test_exec_without_a_command_is_refused_with_a_usage_message() -> None:
    done = _exec(env=dict(os.environ))
    assert done.returncode == 2
    assert "give the command to run after --" in done.stderr
