"""``manage.py`` against a database it cannot reach: one line and exit 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.db.aliases import suite_database_url

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize("command", [["migrate_status"], ["audit_activity", "--user", "1"], ["refresh_views"]])
def test_a_database_that_does_not_exist_is_one_line_not_a_traceback(command: list[str]) -> None:
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "DB_POOL_TIMEOUT"}}
    env.update(DATABASE_URL=suite_database_url("gc_no_such_database"), DB_POOL_TIMEOUT="0.5")
    env.pop("MIGRATION_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "CommandError: the database is unavailable" in result.stderr
