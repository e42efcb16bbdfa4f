"""Shared timing helpers for the benchmarks.

Every benchmark row compares an operation with a baseline measured in the same
run on the same machine, so the ratio stays meaningful wherever it runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """Latencies of one operation, in milliseconds."""

    p50_ms: float
    p99_ms: float
    mean_ms: float
    runs: int


def measure(func: Callable[[], Any], *, runs: int = 200, warmup: int = 20) -> Sample:
    """Call ``func`` ``warmup`` times untimed, then ``runs`` times timed."""
    for _ in range(warmup):
        func()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        timings.append((time.perf_counter() - started) * 1000)
    return summarise(timings)


def summarise(timings_ms: list[float]) -> Sample:
    ordered = sorted(timings_ms)
    p99_index = min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))
    return Sample(
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[p99_index],
        mean_ms=statistics.fmean(ordered),
        runs=len(ordered),
    )


@dataclass(frozen=True)
class Row:
    """One line of a benchmark table: ``ratio`` is operation p50 / baseline p50."""

    benchmark: str
    operation: str
    p50_ms: float
    p99_ms: float
    baseline: str
    baseline_p50_ms: float | None
    ratio: float | None
    target: str
    met: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def row(
    benchmark: str,
    operation: str,
    sample: Sample,
    *,
    baseline: str = "",
    baseline_sample: Sample | None = None,
    target: str = "",
    max_ratio: float | None = None,
    min_speedup: float | None = None,
) -> Row:
    """Build a row; ``max_ratio`` (op/baseline at most) or ``min_speedup`` (baseline/op at least) judge it."""
    ratio = sample.p50_ms / baseline_sample.p50_ms if baseline_sample and baseline_sample.p50_ms > 0 else None
    met: bool | None = None
    if ratio is not None and max_ratio is not None:
        met = ratio <= max_ratio
    elif ratio is not None and min_speedup is not None:
        met = ratio > 0 and 1 / ratio >= min_speedup
    return Row(
        benchmark=benchmark,
        operation=operation,
        p50_ms=sample.p50_ms,
        p99_ms=sample.p99_ms,
        baseline=baseline,
        baseline_p50_ms=baseline_sample.p50_ms if baseline_sample else None,
        ratio=ratio,
        target=target,
        met=met,
    )


def format_table(rows: list[Row]) -> str:
    """A plain-text table (also valid Markdown) of benchmark rows."""
    header = ["benchmark", "operation", "p50 ms", "p99 ms", "baseline", "baseline p50 ms", "ratio", "target", "met"]
    lines = [header]
    for r in rows:
        lines.append(
            [
                r.benchmark,
                r.operation,
                f"{r.p50_ms:.4f}",
                f"{r.p99_ms:.4f}",
                r.baseline,
                "" if r.baseline_p50_ms is None else f"{r.baseline_p50_ms:.4f}",
                "" if r.ratio is None else f"{r.ratio:.2f}",
                r.target,
                "" if r.met is None else ("yes" if r.met else "NO"),
            ]
        )
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [lines[0], ["---"] * len(header), *lines[1:]])
