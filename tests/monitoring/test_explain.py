"""EXPLAIN of recorded statements, and what pg_stat_statements can tell (or why not)."""

from __future__ import annotations

import pytest

from growthcompass.db import monitoring
from growthcompass.db.monitoring import explain_statement, stat_statements
from growthcompass.db.monitoring.explain import plan_findings

pytestmark = pytest.mark.django_db


def test_a_filtered_sequential_scan_of_a_large_table_is_flagged() -> None:
    result = explain_statement("SELECT * FROM students WHERE leaving_reason = %s", large_table_rows=0)
    assert result.explained and not result.analyzed
    assert result.top_node == "Seq Scan"
    # The plan also holds the teacher policy's sub-plan on rls_teacher_students (empty here, so
    # scanned, and "large" at a threshold of 0 rows); this test is about the students scan.
    kinds = {(f.kind, f.relation) for f in result.findings if f.relation == "students"}
    assert kinds == {("seq_scan_large_table", "students"), ("missing_index", "students")}
    assert "leaving_reason" in next(
        f.detail for f in result.findings if f.kind == "missing_index" and f.relation == "students"
    )


def test_on_a_partitioned_table_each_partition_scanned_is_flagged() -> None:
    # attendances is partitioned by month: the plan appends one scan per partition, each named.
    result = explain_statement("SELECT * FROM attendances WHERE note = %s", large_table_rows=0)
    assert result.top_node == "Append"
    flagged = {f.relation for f in result.findings if f.kind == "seq_scan_large_table"}
    assert "attendances_default" in flagged and len(flagged) >= 5
    assert all(relation.startswith("attendances_") for relation in flagged)
    assert {f.relation for f in result.findings if f.kind == "missing_index"} == flagged


def test_small_tables_and_index_scans_are_not_flagged() -> None:
    assert explain_statement("SELECT * FROM attendances WHERE note = %s", large_table_rows=10**9).findings == ()
    plan = {
        "Node Type": "Nested Loop",
        "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "attendances", "Plan Rows": 1, "Index Cond": "(id = 1)"},
            {"Node Type": "Seq Scan", "Relation Name": "terms", "Plan Rows": 3, "Filter": "(name = 'x')"},
        ],
    }
    assert plan_findings(plan, {"attendances": 1_000_000, "terms": 3}, 10_000) == []


def test_a_statement_that_writes_is_never_explained() -> None:
    result = explain_statement("DELETE FROM students WHERE id = %s", analyze=True)
    assert not result.explained
    assert result.note == "not explained: it writes"


def test_analyze_runs_only_for_statements_without_parameters() -> None:
    analysed = explain_statement("SELECT count(*) FROM students", analyze=True)
    assert analysed.analyzed
    assert "Actual Rows" in analysed.plan[0]["Plan"]
    generic = explain_statement("SELECT * FROM students WHERE id = %s", analyze=True)
    assert generic.explained and not generic.analyzed
    assert "generic plan shown" in generic.note


def test_a_statement_that_cannot_be_planned_is_reported_not_raised() -> None:
    result = explain_statement("SELECT * FROM no_such_table")
    assert not result.explained
    assert result.note.startswith("could not explain: ") and "no_such_table" in result.note


def test_findings_come_from_every_level_of_the_plan() -> None:
    plan = {
        "Node Type": "Hash Join",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "big", "Plan Rows": 10, "Filter": "(a = 1)"},
            {"Node Type": "Hash", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "small", "Plan Rows": 10}]},
        ],
    }
    findings = plan_findings(plan, {"big": 50_000, "small": 20}, 10_000)
    assert [(f.kind, f.relation, f.estimated_rows) for f in findings] == [
        ("seq_scan_large_table", "big", 50_000),
        ("missing_index", "big", 50_000),
    ]


def test_pg_stat_statements_lists_top_statements_or_says_why_not() -> None:
    result = stat_statements(5)
    if result.available:
        assert result.by_total and len(result.by_total) <= 5
        assert result.by_total == sorted(result.by_total, key=lambda s: s.total_ms, reverse=True)
    else:
        assert result.reason
        assert "pg_stat_statements" in result.reason or "shared_preload_libraries" in result.reason
    assert monitoring.stat_statements is stat_statements
