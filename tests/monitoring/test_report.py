"""The query report's rendering: pure functions from a ``QueryReport`` to text and JSON-ready data."""

from __future__ import annotations

import json

from growthcompass.db.monitoring import (
    ExplainResult,
    PlanFinding,
    PoolMetrics,
    QueryMetrics,
    StatementMetrics,
    StatStatements,
)
from growthcompass.db.monitoring.report import QueryReport, report_as_dict, report_as_text, shorten

STARTED_AT = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def _statement(statement: str, *, calls: int, total_ms: float, max_ms: float) -> StatementMetrics:
    return StatementMetrics(
        alias="default",
        fingerprint=f"fp-{calls}",
        statement=statement,
        template=statement,
        calls=calls,
        errors=0,
        slow_calls=0,
        total_ms=total_ms,
        max_ms=max_ms,
        histogram={},
    )


def _report(**overrides: object) -> QueryReport:
    fields: dict[str, object] = {
        "metrics": QueryMetrics(
            STARTED_AT,
            100.0,
            (
                _statement("SELECT pg_sleep(?)", calls=1, total_ms=250.0, max_ms=250.0),
                _statement("SELECT ? FROM students", calls=3, total_ms=3.0, max_ms=1.5),
            ),
            ("web:1",),
        ),
        "sources": "this process only (--local)",
        "top": 5,
        "slow_ms": 100.0,
        "pools": [],
        "server": StatStatements(False, "the extension is not created"),
        "explained": [],
    }
    fields.update(overrides)
    return QueryReport(**fields)  # type: ignore[arg-type]


def test_text_report_lists_totals_statements_and_the_slow_ones() -> None:
    text = report_as_text(_report())

    assert text.splitlines()[0] == (
        "Query metrics: 1 process(es) (this process only (--local)), tracked since 2023-11-14 22:13:20 UTC"
    )
    assert "Top 5 statements by total time" in text
    assert "SELECT ? FROM students [fp-3]" in text
    assert "Slow statements (slowest run >= 100 ms): 1" in text
    assert "pg_stat_statements: not available -- the extension is not created" in text
    assert "  (no pool opened in any reporting process)" in text
    assert "EXPLAIN of the top statements" not in text


def test_text_report_says_none_when_no_statement_is_slow() -> None:
    assert "Slow statements (slowest run >= 1000 ms): none" in report_as_text(_report(slow_ms=1000.0))


def test_text_report_shows_pools_and_plan_findings() -> None:
    pool = PoolMetrics("default", 1, 4, 2, 1, 1, 0, 10, 0, 0, 1, 2, 3)
    finding = PlanFinding("seq_scan_large_table", "attendances", 900_000, "Seq Scan on attendances (~900000 rows)")
    explained = ExplainResult(
        "SELECT * FROM attendances", True, False, findings=(finding,), top_node="Seq Scan", total_cost=12.5
    )
    text = report_as_text(_report(pools=[("web:1 (this)", pool)], explained=[explained]))

    pool_row = next(line for line in text.splitlines() if line.startswith("  web:1 (this)"))
    assert pool_row.split() == ["web:1", "(this)", "default", "2", "1", "1", "0", "10", "3", "3"]
    assert "    generic plan: Seq Scan, cost 12.5" in text
    assert "    ! Seq Scan on attendances (~900000 rows)" in text


def test_long_statements_are_cut_to_one_line() -> None:
    cut = shorten("SELECT\n  " + "x, " * 100, width=20)
    assert cut == "SELECT x, x, x, x, …" and len(cut) == 20


def test_json_report_leaves_out_histograms_and_is_serialisable() -> None:
    data = report_as_dict(_report())

    assert data["since"] == "2023-11-14T22:13:20+00:00"
    assert [s["statement"] for s in data["slow_statements"]] == ["SELECT pg_sleep(?)"]
    assert all("histogram" not in s for s in data["top_by_total_time"])
    assert data["pg_stat_statements"]["available"] is False
    json.dumps(data)
