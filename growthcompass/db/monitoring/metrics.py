"""The numbers query tracking keeps: per-statement counters and latency histograms.

Latencies go into log-scale histograms (8 buckets per doubling, so a
percentile read from one is within about 4.5% of the true value) rather than
lists of samples: memory stays constant however many queries run, and
histograms from several processes add up exactly, which is how
``query_report`` merges the metrics every process publishes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BUCKETS_PER_DOUBLING = 8
SMALLEST_MS = 0.001  # everything at or under 1 microsecond shares bucket 0


def process_name() -> str:
    """``host:pid``: names a process in published metrics."""
    return f"{os.uname().nodename}:{os.getpid()}"


def bucket_of(duration_ms: float) -> int:
    if duration_ms <= SMALLEST_MS:
        return 0
    return int(math.log2(duration_ms / SMALLEST_MS) * BUCKETS_PER_DOUBLING) + 1


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """``(lower, upper)`` milliseconds of ``bucket``."""
    if bucket <= 0:
        return 0.0, SMALLEST_MS
    return (
        SMALLEST_MS * 2 ** ((bucket - 1) / BUCKETS_PER_DOUBLING),
        SMALLEST_MS * 2 ** (bucket / BUCKETS_PER_DOUBLING),
    )


def percentile(histogram: Mapping[int, int], q: float, *, maximum: float | None = None) -> float:
    """The ``q`` quantile (0..1) of a histogram: the geometric middle of the bucket holding it."""
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            lower, upper = bucket_bounds(bucket)
            value = math.sqrt(lower * upper) if lower > 0 else upper
            return min(value, maximum) if maximum is not None else value
    raise AssertionError("unreachable: rank <= total")


def merge_histograms(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bucket, count in histogram.items():
            merged[bucket] = merged.get(bucket, 0) + count
    return merged


def calls_at_or_over(histogram: Mapping[int, int], threshold_ms: float) -> int:
    """Executions that took at least ``threshold_ms`` (to bucket precision)."""
    first = bucket_of(threshold_ms)
    return sum(count for bucket, count in histogram.items() if bucket >= first)


@dataclass(frozen=True)
class StatementMetrics:
    """One normalised statement on one database alias."""

    alias: str
    fingerprint: str
    statement: str
    # The SQL as executed, with placeholders rather than values: what EXPLAIN needs.
    template: str
    calls: int
    errors: int
    slow_calls: int
    total_ms: float
    max_ms: float
    histogram: dict[int, int] = field(repr=False, compare=False)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0

    @property
    def p95_ms(self) -> float:
        return percentile(self.histogram, 0.95, maximum=self.max_ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "fingerprint": self.fingerprint,
            "statement": self.statement,
            "template": self.template,
            "calls": self.calls,
            "errors": self.errors,
            "slow_calls": self.slow_calls,
            "total_ms": self.total_ms,
            "mean_ms": self.mean_ms,
            "p95_ms": self.p95_ms,
            "max_ms": self.max_ms,
            "histogram": {str(k): v for k, v in self.histogram.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatementMetrics:
        return cls(
            alias=data["alias"],
            fingerprint=data["fingerprint"],
            statement=data["statement"],
            template=data.get("template", ""),
            calls=int(data["calls"]),
            errors=int(data.get("errors", 0)),
            slow_calls=int(data.get("slow_calls", 0)),
            total_ms=float(data["total_ms"]),
            max_ms=float(data["max_ms"]),
            histogram={int(k): int(v) for k, v in data.get("histogram", {}).items()},
        )


@dataclass(frozen=True)
class QueryMetrics:
    """Everything tracked since ``started_at`` (epoch seconds), in one or more processes."""

    started_at: float
    slow_query_ms: float
    statements: tuple[StatementMetrics, ...]
    processes: tuple[str, ...] = ()

    @property
    def total_queries(self) -> int:
        return sum(s.calls for s in self.statements)

    @property
    def total_errors(self) -> int:
        return sum(s.errors for s in self.statements)

    @property
    def slow_queries(self) -> int:
        """Executions over ``SLOW_QUERY_MS`` (each was logged as a warning)."""
        return sum(s.slow_calls for s in self.statements)

    @property
    def total_ms(self) -> float:
        return sum(s.total_ms for s in self.statements)

    @property
    def mean_ms(self) -> float:
        calls = self.total_queries
        return self.total_ms / calls if calls else 0.0

    @property
    def p95_ms(self) -> float:
        return percentile(
            merge_histograms(s.histogram for s in self.statements),
            0.95,
            maximum=max((s.max_ms for s in self.statements), default=0.0),
        )

    def by_alias(self) -> dict[str, QueryMetrics]:
        aliases = sorted({s.alias for s in self.statements})
        return {
            alias: QueryMetrics(
                started_at=self.started_at,
                slow_query_ms=self.slow_query_ms,
                statements=tuple(s for s in self.statements if s.alias == alias),
                processes=self.processes,
            )
            for alias in aliases
        }

    def top(self, k: int) -> list[StatementMetrics]:
        """The ``k`` statements that took the most time in total."""
        return sorted(self.statements, key=lambda s: s.total_ms, reverse=True)[:k]

    def slowest(self, threshold_ms: float, k: int | None = None) -> list[StatementMetrics]:
        """Statements whose slowest execution took at least ``threshold_ms``, slowest first."""
        slow = sorted((s for s in self.statements if s.max_ms >= threshold_ms), key=lambda s: s.max_ms, reverse=True)
        return slow if k is None else slow[:k]

    def summary(self) -> dict[str, Any]:
        return {
            "queries": self.total_queries,
            "errors": self.total_errors,
            "slow_queries": self.slow_queries,
            "total_ms": self.total_ms,
            "mean_ms": self.mean_ms,
            "p95_ms": self.p95_ms,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "slow_query_ms": self.slow_query_ms,
            "processes": list(self.processes),
            **self.summary(),
            "statements": [s.as_dict() for s in self.statements],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueryMetrics:
        return cls(
            started_at=float(data["started_at"]),
            slow_query_ms=float(data["slow_query_ms"]),
            statements=tuple(StatementMetrics.from_dict(s) for s in data.get("statements", [])),
            processes=tuple(data.get("processes", ())),
        )


def merge_query_metrics(parts: Iterable[QueryMetrics]) -> QueryMetrics:
    """Add up metrics from several processes: same alias and fingerprint, same statement."""
    parts = list(parts)
    merged: dict[tuple[str, str], StatementMetrics] = {}
    for part in parts:
        for s in part.statements:
            key = (s.alias, s.fingerprint)
            seen = merged.get(key)
            if seen is None:
                merged[key] = s
                continue
            merged[key] = StatementMetrics(
                alias=s.alias,
                fingerprint=s.fingerprint,
                statement=seen.statement,
                template=seen.template or s.template,
                calls=seen.calls + s.calls,
                errors=seen.errors + s.errors,
                slow_calls=seen.slow_calls + s.slow_calls,
                total_ms=seen.total_ms + s.total_ms,
                max_ms=max(seen.max_ms, s.max_ms),
                histogram=merge_histograms((seen.histogram, s.histogram)),
            )
    return QueryMetrics(
        started_at=min((p.started_at for p in parts), default=0.0),
        slow_query_ms=max((p.slow_query_ms for p in parts), default=0.0),
        statements=tuple(merged.values()),
        processes=tuple(process for p in parts for process in p.processes),
    )
