"""Run health checks side by side, with one deadline for all of them.

One check per thread, so a server that is down costs its own timeout once
rather than once per check that touches it, and a check that hangs past the
deadline is reported as such instead of holding up the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from django.db import connections

from growthcompass.health import CheckResult, run_checks


def run_checks_in_parallel(names: Iterable[str], *, timeout_s: float) -> list[CheckResult]:
    """Results in ``names`` order; a check still running at ``timeout_s`` is a failure."""
    wanted = list(names)
    results: dict[str, CheckResult] = {}

    def run(name: str) -> None:
        try:
            results[name] = run_checks([name])[0]
        finally:
            # Each thread has its own Django connections; give them back to the pool.
            connections.close_all()

    threads = {name: threading.Thread(target=run, args=(name,), name=f"health-{name}", daemon=True) for name in wanted}
    deadline = time.monotonic() + timeout_s
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(max(0.0, deadline - time.monotonic()))
    return [
        results.get(name) or CheckResult(name, False, f"no answer within {timeout_s:g} s", duration_ms=timeout_s * 1000)
        for name in wanted
    ]
