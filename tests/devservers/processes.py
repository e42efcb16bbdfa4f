"""Finding the server processes that belong to one development-server root."""

from __future__ import annotations

from pathlib import Path

import psutil


def processes_under(devdata: Path) -> list[psutil.Process]:
    """Server processes (postgres or redis-server) belonging to ``devdata``."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] not in {"postgres", "redis-server"} or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            if str(devdata) in cmdline or Path(proc.cwd()).is_relative_to(devdata):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found
