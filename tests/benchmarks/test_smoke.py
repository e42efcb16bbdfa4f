"""Every benchmark module runs to the end at the smallest scale (slow suite).

A benchmark that breaks (a renamed selector, a changed table) used to go
unnoticed until someone ran ``make bench``. This runs ``python -m benchmarks
--scale small`` as a user does, in a subprocess on its own ``<name>_bench``
database, and checks that every ``benchmarks/bench_*.py`` module ran and
measured something. Nothing here judges speed: targets are the benchmark's
business, and a missed target is not a failure of this test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import discover

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


# A hang guard, not a speed limit: every module at the small scale takes 4-6 minutes on two shared
# cores, past the suite's 300 s per test; the subprocess has its own 1,800 s.
@pytest.mark.timeout(1800)
def test_every_benchmark_module_runs_at_the_small_scale(tmp_path: Path) -> None:
    results = tmp_path / "smoke.json"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "small", "--json", str(results)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]

    result = json.loads(results.read_text())
    assert result["scale"] == "small"
    assert set(result["module_seconds"]) == set(discover())
    measured = {row["benchmark"] for row in result["rows"]}
    silent = [name for name in discover() if name.removeprefix("bench_") not in measured]
    assert not silent, f"modules that measured nothing: {silent}"
    for row in result["rows"]:
        timings = [row[key] for key in ("p50_ms", "p99_ms", "baseline_p50_ms") if row.get(key) is not None]
        assert all(math.isfinite(value) and value >= 0 for value in timings), row
    assert "targets met" in completed.stderr
