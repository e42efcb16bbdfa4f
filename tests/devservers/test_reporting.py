"""A command that reports on the embedded servers finds them as they are and starts nothing.

``healthcheck`` once restarted a killed embedded Redis during the settings import and
then reported ok (``devservers status``'s exit code is checked in test_devservers). Each test gets a
fresh root (the checkout's own ``.devdata/`` servers are never touched) and runs the
commands as a user does, in a subprocess with no ``DATABASE_URL`` / ``REDIS_URL``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from growthcompass.devservers import postgres_status, redis_status

REPO = Path(__file__).resolve().parents[2]


def _run(*argv: str, devservers_root: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(DEVSERVERS_ROOT=str(devservers_root), DJANGO_ENV="development")
    return subprocess.run(
        [sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_healthcheck_reports_stopped_servers_and_restarts_none(root: Path) -> None:
    result = _run("manage.py", "healthcheck", "--check", "redis", devservers_root=root)

    assert result.returncode != 0
    assert "FAIL redis" in result.stdout
    assert "Traceback" not in result.stderr
    assert not redis_status(root)["running"] and redis_status(root)["pid"] is None
    assert not postgres_status(root)["running"] and postgres_status(root)["pid"] is None
