"""EXPLAIN a recorded statement and point at sequential scans of large tables.

Statements are explained from their templates -- the SQL with placeholders,
never parameter values, which are not recorded (they can hold personal
data). A statement with parameters is prepared and explained with
``plan_cache_mode = force_generic_plan``: the plan PostgreSQL would use for any
values. ``ANALYZE`` executes the statement, so it is only done for statements
without parameters, only for statements that read, and inside a READ ONLY
transaction that is rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from psycopg import sql

from growthcompass.db.monitoring.direct import connect_direct
from growthcompass.db.monitoring.fingerprint import is_read_only_statement, to_positional


@dataclass(frozen=True)
class PlanFinding:
    kind: str  # "seq_scan_large_table" or "missing_index"
    relation: str
    estimated_rows: int
    detail: str


@dataclass(frozen=True)
class ExplainResult:
    statement: str
    explained: bool
    analyzed: bool
    plan: Any = None
    findings: tuple[PlanFinding, ...] = ()
    note: str = ""
    top_node: str = ""
    total_cost: float | None = None
    findings_text: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("findings_text")
        return data


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _relation_sizes(connection: psycopg.Connection[Any], names: list[str]) -> dict[str, int]:
    rows = connection.execute(
        "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s) AND relkind IN ('r', 'm', 'p')",
        [names],
    ).fetchall()
    return {name: int(tuples) for name, tuples in rows}


def plan_findings(plan: dict[str, Any], sizes: dict[str, int], large_table_rows: int) -> list[PlanFinding]:
    """Sequential scans of tables with at least ``large_table_rows`` rows; with a filter, a likely missing index."""
    findings = []
    for node in _nodes(plan):
        if node.get("Node Type") != "Seq Scan":
            continue
        relation = node.get("Relation Name", "?")
        # reltuples is -1 until the table is first analysed; the planner's guess stands in.
        rows = max(sizes.get(relation, -1), int(node.get("Plan Rows", 0)))
        if rows < large_table_rows:
            continue
        findings.append(
            PlanFinding("seq_scan_large_table", relation, rows, f"sequential scan on {relation} (~{rows:,} rows)")
        )
        if node.get("Filter"):
            findings.append(
                PlanFinding(
                    "missing_index",
                    relation,
                    rows,
                    f"possible missing index on {relation}: rows are filtered by {node['Filter']}",
                )
            )
    return findings


def explain_statement(
    template: str, *, analyze: bool = False, using: str = "default", large_table_rows: int | None = None
) -> ExplainResult:
    """Plan ``template`` (pyformat ``%s`` or ``$n`` placeholders) on ``using`` and flag what looks slow."""
    threshold = settings.QUERY_LARGE_TABLE_ROWS if large_table_rows is None else large_table_rows
    if not is_read_only_statement(template):
        return ExplainResult(statement=template, explained=False, analyzed=False, note="not explained: it writes")
    text, parameters = to_positional(template)
    analyzed = analyze and parameters == 0
    note = ""
    if analyze and not analyzed:
        note = "ANALYZE skipped: parameter values are not recorded; generic plan shown"
    options = sql.SQL("FORMAT JSON, ANALYZE") if analyzed else sql.SQL("FORMAT JSON")
    try:
        with connect_direct(
            using, timeout_s=settings.HEALTH_TIMEOUT_S, statement_timeout_ms=30_000, autocommit=False, session=True
        ) as connection:
            connection.execute("SET TRANSACTION READ ONLY")
            # The statement text comes from our own query log (or pg_stat_statements), not from a
            # user, and only read-only statements get here; it cannot be parameterised itself.
            body = sql.SQL(text)
            if parameters:
                connection.execute("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
                connection.execute(sql.SQL("PREPARE growthcompass_explain AS {}").format(body))
                nulls = sql.SQL(", ").join([sql.NULL] * parameters)
                query = sql.SQL("EXPLAIN ({}) EXECUTE growthcompass_explain({})").format(options, nulls)
            else:
                query = sql.SQL("EXPLAIN ({}) {}").format(options, body)
            row = connection.execute(query).fetchone()
            plan = row[0] if row else None
            if isinstance(plan, str):
                plan = json.loads(plan)
            root = plan[0]["Plan"] if plan else {}
            names = sorted({n["Relation Name"] for n in _nodes(root) if "Relation Name" in n})
            sizes = _relation_sizes(connection, names) if names else {}
            connection.rollback()
    except psycopg.Error as exc:
        return ExplainResult(
            statement=template, explained=False, analyzed=False, note=f"could not explain: {str(exc).strip()}"
        )
    findings = tuple(plan_findings(root, sizes, threshold))
    return ExplainResult(
        statement=template,
        explained=True,
        analyzed=analyzed,
        plan=plan,
        findings=findings,
        note=note,
        top_node=str(root.get("Node Type", "")),
        total_cost=root.get("Total Cost"),
        findings_text=[f.detail for f in findings],
    )
