"""Report query metrics: totals, the busiest and slowest statements, pools, plans."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from growthcompass.db import monitoring
from growthcompass.db.monitoring import (
    ExplainResult,
    PoolMetrics,
    QueryMetrics,
    StatementMetrics,
    StatStatements,
)

_STATEMENT_CHARS = 110


def _short(text: str, width: int = _STATEMENT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


class Command(BaseCommand):
    help = (
        "Query metrics of every process that publishes them (and this one): totals, mean and p95 time, the "
        "statements that took the most time and the slowest ones, connection pool statistics, and the top "
        "statements from pg_stat_statements where that extension is available. --explain adds EXPLAIN "
        "(FORMAT JSON) plans of the top statements, flagging sequential scans of large tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--slow-ms", type=float, metavar="N", help="Slow-statement threshold in ms (default SLOW_QUERY_MS)."
        )
        parser.add_argument(
            "--top", type=int, default=10, metavar="K", help="How many statements to list (default 10)."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--explain", action="store_true", help="EXPLAIN the top statements (never ones that write)."
        )
        parser.add_argument(
            "--analyze",
            action="store_true",
            help="With --explain, EXPLAIN ANALYZE statements without parameters, in a rolled-back read-only "
            "transaction (implies --explain).",
        )
        parser.add_argument("--local", action="store_true", help="Only this process's metrics; skip Redis.")
        parser.add_argument("--reset", action="store_true", help="After reporting, clear the published metrics.")

    def handle(self, *args: Any, **options: Any) -> None:
        top = options["top"]
        if top < 1:
            raise CommandError("--top must be at least 1.")
        slow_ms = settings.SLOW_QUERY_MS if options["slow_ms"] is None else options["slow_ms"]
        if slow_ms < 0:
            raise CommandError("--slow-ms must not be negative.")

        with monitoring.tracking_paused():
            local = monitoring.query_metrics()
            pools: list[tuple[str, PoolMetrics]] = [
                (f"{p} (this)", m) for p in local.processes for m in monitoring.pool_metrics()
            ]
            parts = [local]
            published_note = "this process only (--local)"
            if not options["local"]:
                try:
                    published = monitoring.published_query_metrics()
                except Exception as exc:  # Redis down: still report what this process knows
                    published_note = f"published metrics unavailable ({type(exc).__name__}: {exc})"
                else:
                    parts += [p.metrics for p in published]
                    pools += [(p.process, pool) for p in published for pool in p.pools]
                    published_note = f"this process and {len(published)} published"
            merged = monitoring.merge_query_metrics(parts)
            server = monitoring.stat_statements(top)
            explained: list[ExplainResult] = []
            if options["explain"] or options["analyze"]:
                templates = [s.template for s in merged.top(top) if s.template]
                if server.available:
                    templates += [s.query for s in server.by_total]
                seen: set[str] = set()
                for template in templates:
                    key = monitoring.fingerprint(template)[0]
                    if key in seen:
                        continue
                    seen.add(key)
                    explained.append(monitoring.explain_statement(template, analyze=options["analyze"]))
            if options["reset"] and not options["local"]:
                monitoring.clear_published_query_metrics()

        if options["json"]:
            self.stdout.write(
                json.dumps(self._as_json(merged, published_note, top, slow_ms, pools, server, explained), indent=2)
            )
        else:
            self._print(merged, published_note, top, slow_ms, pools, server, explained)

    # --- output -------------------------------------------------------------------
    def _as_json(
        self,
        merged: QueryMetrics,
        sources: str,
        top: int,
        slow_ms: float,
        pools: list[tuple[str, PoolMetrics]],
        server: StatStatements,
        explained: list[ExplainResult],
    ) -> dict[str, Any]:
        def statement(s: StatementMetrics) -> dict[str, Any]:
            data = s.as_dict()
            data.pop("histogram")
            return data

        return {
            "sources": sources,
            "processes": list(merged.processes),
            "since": dt.datetime.fromtimestamp(merged.started_at, dt.UTC).isoformat() if merged.started_at else None,
            "totals": merged.summary(),
            "by_alias": {alias: m.summary() for alias, m in merged.by_alias().items()},
            "slow_ms": slow_ms,
            "top_by_total_time": [statement(s) for s in merged.top(top)],
            "slow_statements": [statement(s) for s in merged.slowest(slow_ms, top)],
            "pools": [{"process": process, **pool.as_dict()} for process, pool in pools],
            "pg_stat_statements": server.as_dict(),
            "explain": [e.as_dict() for e in explained],
        }

    def _print(
        self,
        merged: QueryMetrics,
        sources: str,
        top: int,
        slow_ms: float,
        pools: list[tuple[str, PoolMetrics]],
        server: StatStatements,
        explained: list[ExplainResult],
    ) -> None:
        write = self.stdout.write
        since = dt.datetime.fromtimestamp(merged.started_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        write(f"Query metrics: {len(merged.processes)} process(es) ({sources}), tracked since {since}")
        write(
            f"  queries {merged.total_queries:,}  errors {merged.total_errors:,}  mean {merged.mean_ms:.3f} ms  "
            f"p95 {merged.p95_ms:.3f} ms  slow (>= {merged.slow_query_ms:g} ms) {merged.slow_queries:,}"
        )
        for alias, part in merged.by_alias().items():
            write(f"  {alias}: {part.total_queries:,} queries, mean {part.mean_ms:.3f} ms, p95 {part.p95_ms:.3f} ms")

        header = f"  {'total ms':>10} {'calls':>8} {'mean ms':>9} {'p95 ms':>9} {'max ms':>9}  {'alias':<8} statement"

        def rows(statements: list[StatementMetrics]) -> None:
            write(header)
            for s in statements:
                write(
                    f"  {s.total_ms:>10.1f} {s.calls:>8,} {s.mean_ms:>9.3f} {s.p95_ms:>9.3f} {s.max_ms:>9.1f}  "
                    f"{s.alias:<8} {_short(s.statement)} [{s.fingerprint}]"
                )

        write("")
        write(f"Top {top} statements by total time")
        rows(merged.top(top))
        write("")
        slow = merged.slowest(slow_ms, top)
        write(f"Slow statements (slowest run >= {slow_ms:g} ms): {len(slow) or 'none'}")
        if slow:
            rows(slow)

        write("")
        if not server.available:
            write(f"pg_stat_statements: not available -- {server.reason}")
        else:
            for title, statements in (("total", server.by_total), ("mean", server.by_mean)):
                write(f"pg_stat_statements: top {top} by {title} execution time")
                write(f"  {'total ms':>10} {'calls':>8} {'mean ms':>9} {'rows':>9}  statement")
                for entry in statements:
                    write(
                        f"  {entry.total_ms:>10.1f} {entry.calls:>8,} {entry.mean_ms:>9.3f} {entry.rows:>9,}  "
                        f"{_short(entry.query)}"
                    )

        write("")
        write("Connection pools")
        if not pools:
            write("  (no pool opened in any reporting process)")
        else:
            write(
                f"  {'process':<28} {'alias':<8} {'size':>4} {'idle':>4} {'in use':>6} {'waiting':>7} "
                f"{'requests':>8} {'errors':>6} {'lost':>4}"
            )
            for process, pool in pools:
                errors = pool.request_errors + pool.connection_errors
                write(
                    f"  {process:<28} {pool.alias:<8} {pool.size:>4} {pool.idle:>4} {pool.in_use:>6} "
                    f"{pool.waiting:>7} {pool.requests:>8} {errors:>6} {pool.connections_lost:>4}"
                )

        if explained:
            write("")
            write("EXPLAIN of the top statements")
            for result in explained:
                write(f"  {_short(monitoring.normalise(result.statement))}")
                if not result.explained:
                    write(f"    {result.note}")
                    continue
                how = "EXPLAIN ANALYZE" if result.analyzed else "generic plan"
                write(f"    {how}: {result.top_node}, cost {result.total_cost}")
                if result.note:
                    write(f"    {result.note}")
                for finding in result.findings:
                    write(f"    ! {finding.detail}")
                if not result.findings:
                    write("    no sequential scans of large tables")
