"""Timing loops, percentiles and the benchmark row, shared by every ``bench_*`` module.

Every benchmark row compares an operation with a baseline measured in the same
run on the same machine, so the ratio stays meaningful wherever it runs. On a
shared machine the load drifts during a run: the loops here alternate the
operation and its baseline (``paired``, ``interleaved``) so drift lands on both
alike instead of on whichever ran last.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Sample:
    """Latencies of one operation, in milliseconds."""

    p50_ms: float
    p99_ms: float
    mean_ms: float
    runs: int


def summarise(timings_ms: list[float]) -> Sample:
    """p50 (median), p99 (nearest rank) and mean of ``timings_ms``."""
    if not timings_ms:
        raise ValueError("no timings to summarise")
    ordered = sorted(timings_ms)
    p99_index = min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))
    return Sample(
        p50_ms=statistics.median(ordered),
        p99_ms=ordered[p99_index],
        mean_ms=statistics.fmean(ordered),
        runs=len(ordered),
    )


def _timed_ms(func: Callable[[], Any]) -> float:
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def measure(func: Callable[[], Any], *, runs: int = 200, warmup: int = 20) -> Sample:
    """Call ``func`` ``warmup`` times untimed, then ``runs`` times timed."""
    for _ in range(warmup):
        func()
    return summarise([_timed_ms(func) for _ in range(runs)])


def paired(
    candidate: Callable[[], Any], baseline: Callable[[], Any], *, runs: int, warmup: int = 30
) -> tuple[Sample, Sample]:
    """Time ``candidate`` and ``baseline`` call by call, swapping which goes first each time."""
    for _ in range(warmup):
        candidate()
        baseline()
    first: list[float] = []
    second: list[float] = []
    for index in range(runs):
        if index % 2 == 0:
            first.append(_timed_ms(candidate))
            second.append(_timed_ms(baseline))
        else:
            second.append(_timed_ms(baseline))
            first.append(_timed_ms(candidate))
    return summarise(first), summarise(second)


def interleaved(operations: dict[str, Callable[[], Any]], *, runs: int, block: int = 10) -> dict[str, Sample]:
    """Time each operation about ``runs`` times, alternating in blocks of ``block`` calls.

    Blocks rather than single calls when an operation's first call after
    another's pays a switch (a cache tier, a toggled wrapper): p50 never sees
    one slow call in ten. Each operation is warmed up by one untimed block.
    """
    for func in operations.values():
        for _ in range(block):
            func()
    timings: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(max(1, runs // block)):
        for name, func in operations.items():
            timings[name].extend(_timed_ms(func) for _ in range(block))
    return {name: summarise(values) for name, values in timings.items()}


def batched(func: Callable[[], Any], *, batch: int, samples: int, warmup: bool = True) -> Sample:
    """Per-call latency of a (sub-)microsecond ``func``: time ``batch`` calls at a time.

    ``perf_counter`` itself costs about as much as such a call; one sample per
    batch divides that error by ``batch``.
    """
    if warmup:
        for _ in range(batch):
            func()
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        for _ in range(batch):
            func()
        timings.append((time.perf_counter() - started) * 1000 / batch)
    return summarise(timings)


@dataclass(frozen=True)
class Row:
    """One line of a benchmark table: ``ratio`` is operation p50 / baseline p50.

    ``operation`` names what was timed and stays the same from run to run (the
    comparison matches rows by it); figures that vary, such as a hit rate or a
    query count, go in ``note``.
    """

    benchmark: str
    operation: str
    p50_ms: float
    p99_ms: float
    baseline: str
    baseline_p50_ms: float | None
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Row:
        """A row from ``as_dict`` output (a results file); unknown keys are ignored, missing ones empty."""
        defaults: dict[str, Any] = {"baseline": "", "target": "", "note": ""}
        known: dict[str, Any] = {f.name: values.get(f.name, defaults.get(f.name)) for f in fields(cls)}
        return cls(**known)


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
    note: str = "",
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
        note=note,
    )
