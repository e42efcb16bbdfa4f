"""Hooks for a multi-process server (gunicorn, uWSGI) in prometheus_client's multiprocess mode.

In ``gunicorn.conf.py``::

    from growthcompass.metrics.multiprocess import child_exit  # noqa: F401

so a worker that exits stops counting in the pool gauges (``livesum``);
its counters stay, as counters must. Empty ``PROMETHEUS_MULTIPROC_DIR``
before the server starts (``prepare_directory``), or old workers' counts
are added to the new ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

__all__ = ["child_exit", "mark_process_dead", "prepare_directory"]


def mark_process_dead(pid: int) -> None:
    """Drop the live gauges of the worker ``pid``."""
    multiprocess.mark_process_dead(pid)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` server hook."""
    mark_process_dead(worker.pid)


def prepare_directory(path: str | Path) -> Path:
    """Create ``path`` empty (remove what a previous run left); call before the workers start."""
    directory = Path(path)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory
