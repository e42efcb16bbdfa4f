"""The staff queries on audit_log stay fast with its time index a BRIN: each against the same query scanning the table.

Three reads staff run (``auditing.selectors``, the admin's date filter), on the
entries the benchmark dataset's seeding wrote:

- a row's history (``audit_log_for_row``): ``audit_log_row_idx``;
- a user's activity (``user_activity_summary``): ``audit_log_user_time_idx``;
- every change in a time window (the admin's date filter): ``audit_log_changed_at_brin``.

The baseline is the same query with index and bitmap scans off (a sequential
scan), in the same run. Target: each at least 10x faster than the scan; the
note names the index the plan used.

    python -m benchmarks --only audit_reads [--scale small|default]
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.timing import Row

NAME = "audit_reads"
RUNS = {"small": 30, "default": 30, "large": 30}
MIN_SPEEDUP = 10.0


def _queries() -> dict[str, tuple[str, list[Any]]]:
    """Label -> (SQL, parameters), picked from what the log holds."""
    from django.db import connection

    with connection.cursor() as cursor:
        # The seeding has just written the log; autovacuum would analyze it and summarize
        # the BRIN's block ranges within minutes (the index is autosummarize): done here.
        cursor.execute("ANALYZE audit_log")
        # audit_log is partitioned: the parent's BRIN index is a partitioned index, each
        # partition holds a BRIN index of its own.
        cursor.execute(
            "SELECT brin_summarize_new_values(i.indexrelid) FROM pg_inherits h"
            " JOIN pg_index i ON i.indrelid = h.inhrelid JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am a ON a.oid = c.relam"
            " WHERE h.inhparent = 'audit_log'::regclass AND a.amname = 'brin'"
        )
        cursor.execute("SELECT row_pk FROM audit_log WHERE table_name = 'attendances' ORDER BY id DESC LIMIT 1")
        found = cursor.fetchone()
        row_pk = found[0] if found else "1"
        cursor.execute("SELECT changed_by FROM audit_log WHERE changed_by IS NOT NULL ORDER BY id DESC LIMIT 1")
        found = cursor.fetchone()
        user_id = found[0] if found else 1
        # The seeding wrote the whole log within minutes, in big statements sharing one
        # statement time: the window starts at the time of its smallest statement, so it
        # holds a few rows, as a window of a log written over years does.
        cursor.execute("SELECT changed_at FROM audit_log GROUP BY changed_at ORDER BY count(*), changed_at LIMIT 1")
        (start,) = cursor.fetchone()
    return {
        "a row's history (table_name, row_pk)": (
            "SELECT * FROM audit_log WHERE table_name = 'attendances' AND row_pk = %s ORDER BY id DESC",
            [row_pk],
        ),
        "a user's activity, 30 days (changed_by, changed_at)": (
            "SELECT table_name, operation, count(*) FROM audit_log WHERE changed_by = %s"
            " AND changed_at >= now() - interval '30 days' GROUP BY 1, 2",
            [user_id],
        ),
        "every change in a 1-ms window, the admin's date filter (changed_at)": (
            "SELECT count(*) FROM audit_log WHERE changed_at >= %s AND changed_at < %s + interval '1 millisecond'",
            [start, start],
        ),
    }


def _runner(query: str, params: list[Any], *, scan: bool) -> Callable[[], None]:
    from django.db import connection, transaction

    def run_once() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if scan:
                cursor.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
            cursor.execute(query, params)
            cursor.fetchall()

    return run_once


def _index_used(query: str, params: list[Any]) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query, params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
        # On the partitioned log the plan names each partition's index: describe them by kind.
        names = sorted(set(re.findall(r"Index (?:Only )?Scan (?:Backward )?(?:using|on) (\w+)", plan)))
        kinds: set[str] = set()
        for name in names:
            cursor.execute(
                "SELECT a.amname || ' ' || regexp_replace(pg_get_indexdef(c.oid), '^.*USING \\w+ ', '')"
                " FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = %s",
                [name],
            )
            found = cursor.fetchone()
            if found:
                kinds.add(found[0])
    return ", ".join(sorted(kinds)) or "no index"


def run(scale: str) -> list[Row]:
    from benchmarks.timing import paired, row

    result: list[Row] = []
    for label, (query, params) in _queries().items():
        indexed, scanned = paired(
            _runner(query, params, scan=False), _runner(query, params, scan=True), runs=RUNS.get(scale, 30), warmup=3
        )
        result.append(
            row(
                NAME,
                label,
                indexed,
                baseline="same query, sequential scan",
                baseline_sample=scanned,
                target=f">= {MIN_SPEEDUP:g}x faster",
                min_speedup=MIN_SPEEDUP,
                note=f"plan: {_index_used(query, params)}",
            )
        )
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
