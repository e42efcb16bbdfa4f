"""Fixtures: a fresh development-server root per test, and nothing left running after it.

The roots are made with ``mkdtemp`` directly under ``/tmp`` rather than from
``tmp_path``: as root, PostgreSQL runs as the unprivileged ``pgserver`` user,
which must traverse every parent directory, and each pytest session that
starts (a concurrent run, an xdist controller) resets
``/tmp/pytest-of-<user>`` to mode 0700, locking it out mid-test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from growthcompass.devservers import stop_postgres, stop_redis
from tests.devservers.processes import processes_under


@pytest.fixture
def base() -> Iterator[Path]:
    """A fresh temporary directory, traversable by the server account."""
    path = Path(tempfile.mkdtemp(prefix="gc-devservers-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root(base: Path) -> Iterator[Path]:
    yield base
    stop_postgres(base)
    stop_redis(base)
    leftovers = processes_under(base / ".devdata")
    for proc in leftovers:
        proc.kill()
    assert not leftovers, f"servers outlived stop: {leftovers}"
