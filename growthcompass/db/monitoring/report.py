"""The query report behind ``manage.py query_report``: what it holds, how it is gathered, how it reads.

``collect_query_report`` gathers everything the report shows, untracked (so the
report's own queries do not appear in it). ``report_as_dict`` and
``report_as_text`` are pure: the same ``QueryReport`` always renders the same
JSON-ready dict and the same text, so the rendering can be read and tested
without a database.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from growthcompass.db import monitoring
from growthcompass.db.monitoring.explain import ExplainResult
from growthcompass.db.monitoring.metrics import QueryMetrics, StatementMetrics
from growthcompass.db.monitoring.pools import PoolMetrics
from growthcompass.db.monitoring.stat_statements import StatStatements

STATEMENT_CHARS = 110


@dataclass(frozen=True)
class QueryReport:
    """Every number the report shows, merged over the processes it heard from."""

    metrics: QueryMetrics
    sources: str  # which processes the metrics came from, in words ("this process and 2 published")
    top: int
    slow_ms: float
    pools: list[tuple[str, PoolMetrics]]  # (process, pool) pairs
    server: StatStatements
    explained: list[ExplainResult]


def collect_query_report(
    *, top: int, slow_ms: float, local: bool, explain: bool, analyze: bool, reset: bool
) -> QueryReport:
    """This process's metrics merged with every published process's (unless ``local``).

    With ``explain`` (or ``analyze``), EXPLAIN each distinct top statement, ours and
    ``pg_stat_statements``'s; with ``reset`` (and not ``local``), clear the published
    metrics once they are read. An unreachable Redis is noted in ``sources`` rather
    than raised: the report still says what this process knows.
    """
    with monitoring.tracking_paused():
        this_process = monitoring.query_metrics()
        pools: list[tuple[str, PoolMetrics]] = [
            (f"{p} (this)", m) for p in this_process.processes for m in monitoring.pool_metrics()
        ]
        parts = [this_process]
        sources = "this process only (--local)"
        if not local:
            try:
                published = monitoring.published_query_metrics()
            except Exception as exc:  # Redis down: still report what this process knows
                sources = f"published metrics unavailable ({type(exc).__name__}: {exc})"
            else:
                parts += [p.metrics for p in published]
                now, interval = time.time(), settings.QUERY_PUBLISH_S
                live = [p for p in published if p.live(now=now, interval_s=interval)]
                pools += [(p.process, pool) for p in live for pool in p.pools]
                sources = f"this process and {len(published)} published"
        merged = monitoring.merge_query_metrics(parts)
        server = monitoring.stat_statements(top)
        explained: list[ExplainResult] = []
        if explain or analyze:
            templates = [s.template for s in merged.top(top) if s.template]
            if server.available:
                templates += [s.query for s in server.by_total]
            seen: set[str] = set()
            for template in templates:
                key = monitoring.fingerprint(template)[0]
                if key in seen:
                    continue
                seen.add(key)
                explained.append(monitoring.explain_statement(template, analyze=analyze))
        if reset and not local:
            monitoring.clear_published_query_metrics()
    return QueryReport(merged, sources, top, slow_ms, pools, server, explained)


def shorten(text: str, width: int = STATEMENT_CHARS) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def report_as_dict(report: QueryReport) -> dict[str, Any]:
    """The report as JSON-ready data (``query_report --json``); statement histograms are left out."""

    def statement(s: StatementMetrics) -> dict[str, Any]:
        data = s.as_dict()
        data.pop("histogram")
        return data

    merged = report.metrics
    return {
        "sources": report.sources,
        "processes": list(merged.processes),
        "since": dt.datetime.fromtimestamp(merged.started_at, dt.UTC).isoformat() if merged.started_at else None,
        "totals": merged.summary(),
        "by_alias": {alias: m.summary() for alias, m in merged.by_alias().items()},
        "slow_ms": report.slow_ms,
        "top_by_total_time": [statement(s) for s in merged.top(report.top)],
        "slow_statements": [statement(s) for s in merged.slowest(report.slow_ms, report.top)],
        "pools": [{"process": process, **pool.as_dict()} for process, pool in report.pools],
        "pg_stat_statements": report.server.as_dict(),
        "explain": [e.as_dict() for e in report.explained],
    }


def report_as_text(report: QueryReport) -> str:
    """The report as the tables ``query_report`` prints, one line per row, without a final newline."""
    return "\n".join(_text_lines(report))


def _text_lines(report: QueryReport) -> Iterator[str]:
    yield from _totals_lines(report.metrics, report.sources)
    yield ""
    yield from _statement_lines(report.metrics, report.top, report.slow_ms)
    yield ""
    yield from _server_lines(report.server, report.top)
    yield ""
    yield from _pool_lines(report.pools)
    if report.explained:
        yield ""
        yield from _explain_lines(report.explained)


def _totals_lines(merged: QueryMetrics, sources: str) -> Iterator[str]:
    since = dt.datetime.fromtimestamp(merged.started_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    yield f"Query metrics: {len(merged.processes)} process(es) ({sources}), tracked since {since}"
    yield (
        f"  queries {merged.total_queries:,}  errors {merged.total_errors:,}  mean {merged.mean_ms:.3f} ms  "
        f"p95 {merged.p95_ms:.3f} ms  slow (>= {merged.slow_query_ms:g} ms) {merged.slow_queries:,}"
    )
    for alias, part in merged.by_alias().items():
        yield f"  {alias}: {part.total_queries:,} queries, mean {part.mean_ms:.3f} ms, p95 {part.p95_ms:.3f} ms"


def _statement_rows(statements: list[StatementMetrics]) -> Iterator[str]:
    yield f"  {'total ms':>10} {'calls':>8} {'mean ms':>9} {'p95 ms':>9} {'max ms':>9}  {'alias':<8} statement"
    for s in statements:
        yield (
            f"  {s.total_ms:>10.1f} {s.calls:>8,} {s.mean_ms:>9.3f} {s.p95_ms:>9.3f} {s.max_ms:>9.1f}  "
            f"{s.alias:<8} {shorten(s.statement)} [{s.fingerprint}]"
        )


def _statement_lines(merged: QueryMetrics, top: int, slow_ms: float) -> Iterator[str]:
    yield f"Top {top} statements by total time"
    yield from _statement_rows(merged.top(top))
    yield ""
    slow = merged.slowest(slow_ms, top)
    yield f"Slow statements (slowest run >= {slow_ms:g} ms): {len(slow) or 'none'}"
    if slow:
        yield from _statement_rows(slow)


def _server_lines(server: StatStatements, top: int) -> Iterator[str]:
    if not server.available:
        yield f"pg_stat_statements: not available -- {server.reason}"
        return
    for title, statements in (("total", server.by_total), ("mean", server.by_mean)):
        yield f"pg_stat_statements: top {top} by {title} execution time"
        yield f"  {'total ms':>10} {'calls':>8} {'mean ms':>9} {'rows':>9}  statement"
        for entry in statements:
            yield (
                f"  {entry.total_ms:>10.1f} {entry.calls:>8,} {entry.mean_ms:>9.3f} {entry.rows:>9,}  "
                f"{shorten(entry.query)}"
            )


def _pool_lines(pools: list[tuple[str, PoolMetrics]]) -> Iterator[str]:
    yield "Connection pools"
    if not pools:
        yield "  (no pool opened in any reporting process)"
        return
    yield (
        f"  {'process':<28} {'alias':<8} {'size':>4} {'idle':>4} {'in use':>6} {'waiting':>7} "
        f"{'requests':>8} {'errors':>6} {'lost':>4}"
    )
    for process, pool in pools:
        errors = pool.request_errors + pool.connection_errors
        yield (
            f"  {process:<28} {pool.alias:<8} {pool.size:>4} {pool.idle:>4} {pool.in_use:>6} "
            f"{pool.waiting:>7} {pool.requests:>8} {errors:>6} {pool.connections_lost:>4}"
        )


def _explain_lines(explained: list[ExplainResult]) -> Iterator[str]:
    yield "EXPLAIN of the top statements"
    for result in explained:
        yield f"  {shorten(monitoring.normalise(result.statement))}"
        if not result.explained:
            yield f"    {result.note}"
            continue
        how = "EXPLAIN ANALYZE" if result.analyzed else "generic plan"
        yield f"    {how}: {result.top_node}, cost {result.total_cost}"
        if result.note:
            yield f"    {result.note}"
        for finding in result.findings:
            yield f"    ! {finding.detail}"
        if not result.findings:
            yield "    no sequential scans of large tables"
