"""What the browser test needs from the machine: Playwright's Python package and Debian's Chromium.

Playwright's own browser download is never used: the test drives the system
Chromium (``make browser-deps`` installs it) through ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

MISSING_HINT = "run `make browser-deps` (apt-installs chromium) and `pip install -r requirements.txt` (playwright)"


def chromium_path() -> str:
    """The system Chromium's path, or skip the test saying what is missing and how to get it."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(f"the playwright package is not installed; {MISSING_HINT}")
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        pytest.skip(f"no chromium binary on PATH; {MISSING_HINT}")
    return found


def screenshots_dir() -> Path | None:
    """Where ``make screenshots`` wants the pages saved (``DASHBOARD_SCREENSHOTS``), or None."""
    value = os.environ.get("DASHBOARD_SCREENSHOTS")
    if not value:
        return None
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path
