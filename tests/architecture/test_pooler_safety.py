"""Nothing in the project's code needs a session a transaction pooler would not keep.

Behind PgBouncer in transaction mode a session advisory lock, or a setting
made with ``set_config(..., false)``, stays on one server connection after the
transaction, for other clients to inherit (or, for a lock, to be released by
nobody). The project takes transaction-level locks (``pg_advisory_xact_lock``)
and sets transaction-local settings only; the one session setting, the
migration timeouts, goes per transaction behind a pooler (``growthcompass/schema/timeouts.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = ("growthcompass", "students", "courses", "attendance", "feedback", "auditing", "dashboards", "demo")
SESSION_LOCK = re.compile(r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\(", re.IGNORECASE)
SESSION_SETTING = re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE)
# Handled behind a pooler: the settings go per transaction there (growthcompass.db.transaction_settings).
SESSION_SETTING_ALLOWED = {"growthcompass/schema/timeouts.py"}


def _sources() -> list[Path]:
    files = [path for app in APPS for path in (REPO_ROOT / app).rglob("*.py") if "migrations" not in path.parts]
    assert len(files) > 50, "precondition: the project's modules were found"
    return files


def test_no_module_takes_a_session_advisory_lock() -> None:
    offenders = [str(path.relative_to(REPO_ROOT)) for path in _sources() if SESSION_LOCK.search(path.read_text())]
    assert offenders == []


def test_no_module_but_the_migration_timeouts_sets_a_session_setting() -> None:
    offenders = {str(path.relative_to(REPO_ROOT)) for path in _sources() if SESSION_SETTING.search(path.read_text())}
    assert offenders == SESSION_SETTING_ALLOWED
