"""``seed_demo``'s rows per second, against a raw COPY of the very same rows.

Each round seeds a small school (500 students, about 61,000 rows across nine
tables, one cohort) inside a transaction that is rolled back afterwards, so the dataset the
other benchmarks use stays as it is: the domain tables are emptied (untimed)
first, as ``seed_demo --reset`` would, then ``seed_demo`` is timed from the plan
to its last ``ANALYZE``. The rows it wrote are captured with ``COPY ... TO``
before the rollback; the baseline loads exactly those bytes back with ``COPY
... FROM STDIN`` into the same emptied tables and runs the same ``ANALYZE``.
The ratio is therefore what generating the rows in Python costs on top of the
database's own work (audit and cache triggers included on both sides). A commit
is not timed on either side.

When the runner has just seeded the run's dataset, a second, single-sample row
reports that seed at full scale.

    python benchmarks/bench_seed.py [--scale small|default|large]   # or: make bench
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from benchmarks.timing import Row

NAME = "seed"
STUDENTS = 500
ROUNDS = {"small": 3, "default": 5, "large": 5}


def _raw_cursor_work(work: Callable[[psycopg.Cursor[Any]], float]) -> float:
    """Run ``work`` on a raw psycopg cursor in a transaction that is always rolled back; return its result."""
    from django.db import connection, transaction

    from auditing.context import bind_audit_context
    from growthcompass.rls import rls_system_context

    with rls_system_context(reason="benchmark seed"), transaction.atomic(), connection.cursor() as django_cursor:
        raw = django_cursor.connection
        with raw.cursor() as cursor:
            # Past Django's execute wrapper: bind the scope (row-level security) by hand, as seed_demo does.
            bind_audit_context(cursor)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as seed_demo does; see its comment
            _empty_domain_tables(cursor)
            result = work(cursor)
        transaction.set_rollback(True)
    return result


def _empty_domain_tables(cursor: psycopg.Cursor[Any]) -> None:
    """What ``seed_demo(reset=True)`` does first: truncate the domain tables, delete the demo users."""
    from demo import services

    services._reset(cursor)


def _capture_statement(table: Any) -> Any:
    """``COPY (SELECT <loader's columns> FROM table) TO STDOUT``; only the demo users of ``auth_user``."""
    from psycopg import sql

    from demo.services import DEMO_USERNAME_PATTERNS

    query = sql.SQL("SELECT {columns} FROM {table}").format(
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in table.columns), table=sql.Identifier(table.name)
    )
    if table.name == "auth_user":
        patterns = sql.SQL(", ").join(sql.Literal(p) for p in DEMO_USERNAME_PATTERNS)
        query = sql.SQL("{query} WHERE username LIKE ANY(ARRAY[{patterns}])").format(query=query, patterns=patterns)
    return sql.SQL("COPY ({query}) TO STDOUT").format(query=query)


def _seed_and_capture(captured: dict[str, bytes], counts: dict[str, int]) -> Callable[[Any], float]:
    def work(cursor: psycopg.Cursor[Any]) -> float:
        from demo.loader import LOAD_ORDER
        from demo.services import seed_demo

        started = time.perf_counter()
        result = seed_demo(students=STUDENTS, reset=False)
        seconds = time.perf_counter() - started
        counts.update(result.counts)
        for table in LOAD_ORDER:
            with cursor.copy(_capture_statement(table)) as copy:
                captured[table.name] = b"".join(bytes(chunk) for chunk in copy)
        return seconds

    return work


def _copy_back(captured: dict[str, bytes]) -> Callable[[Any], float]:
    def work(cursor: psycopg.Cursor[Any]) -> float:
        from psycopg import sql

        from demo.loader import LOAD_ORDER

        started = time.perf_counter()
        for table in LOAD_ORDER:
            _copy_bytes(cursor, table, captured[table.name])
        # The same statement as PlanLoader.analyze.
        tables = sql.SQL(", ").join(sql.Identifier(table.name) for table in LOAD_ORDER)
        cursor.execute(sql.SQL("ANALYZE {tables}").format(tables=tables))
        return time.perf_counter() - started

    return work


def _copy_bytes(cursor: psycopg.Cursor[Any], table: Any, data: bytes) -> None:
    """COPY ``data`` into ``table`` the way the loader does: straight in, or through a staging table when
    row-level security applies to the role (PostgreSQL refuses ``COPY FROM`` then; see ``PlanLoader.copy``)."""
    from psycopg import sql

    from demo.loader import Table

    row = cursor.execute("SELECT row_security_active(%s::regclass)", (table.name,)).fetchone()
    if not (row and row[0]):
        with cursor.copy(table.copy_statement()) as copy:
            copy.write(data)
        return
    stage = Table(f"_gc_bench_stage_{table.name}", table.columns)
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in table.columns)
    cursor.execute(
        sql.SQL("CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA").format(
            stage=sql.Identifier(stage.name), columns=columns, table=sql.Identifier(table.name)
        )
    )
    with cursor.copy(stage.copy_statement()) as copy:
        copy.write(data)
    cursor.execute(
        sql.SQL("INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage}; DROP TABLE {stage}").format(
            table=sql.Identifier(table.name), columns=columns, stage=sql.Identifier(stage.name)
        )
    )


def run(scale: str) -> list[Row]:
    from benchmarks.timing import summarise

    captured: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    seed_seconds: list[float] = []
    copy_seconds: list[float] = []
    _raw_cursor_work(_seed_and_capture(captured, counts))  # warm-up, and the rows the baseline loads
    for _ in range(ROUNDS.get(scale, ROUNDS["default"])):
        seed_seconds.append(_raw_cursor_work(_seed_and_capture({}, {})))
        copy_seconds.append(_raw_cursor_work(_copy_back(captured)))
    seeded = summarise([s * 1000 for s in seed_seconds])
    copied = summarise([s * 1000 for s in copy_seconds])
    total = sum(counts.values())
    rows = [_seed_row(seeded, copied, total)]
    dataset_row = _dataset_row(scale)
    if dataset_row is not None:
        rows.append(dataset_row)
    return rows


def _seed_row(seeded: Any, copied: Any, total: int) -> Row:
    from benchmarks.timing import row

    return row(
        NAME,
        f"seed_demo, {STUDENTS} students (plan, COPY, ANALYZE)",
        seeded,
        baseline="raw COPY of the same rows + ANALYZE",
        baseline_sample=copied,
        target="informational",
        note=f"{total:,} rows: {total / seeded.p50_ms * 1000:,.0f} rows/s; raw COPY "
        f"{total / copied.p50_ms * 1000:,.0f} rows/s",
    )


def _dataset_row(scale: str) -> Row | None:
    """The runner's own seed of this run's dataset, if it just happened (one sample)."""
    from benchmarks import dataset
    from benchmarks.timing import Sample, row

    seeded = dataset.last_seeded()
    if seeded is None or seeded.seed_seconds is None or seeded.students != dataset.SCALES.get(scale):
        return None
    ms = seeded.seed_seconds * 1000
    return row(
        NAME,
        f"seed_demo, the run's dataset ({seeded.students:,} students, committed)",
        Sample(p50_ms=ms, p99_ms=ms, mean_ms=ms, runs=1),
        target="informational (one sample)",
        note=f"{seeded.total_rows:,} rows: {seeded.total_rows / seeded.seed_seconds:,.0f} rows/s",
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
