"""What partitioning buys: pruning a month, reading this month, maintenance on a current schema.

Works on two scratch copies of an audit-log-shaped table in the benchmark database
(``bench_audit_heap``, a plain heap with the log's indexes, and ``bench_audit_parted``,
partitioned by month the same way), both filled with the same rows spread evenly over
twelve months: 100,000 rows (small), 300,000 (default), 1,000,000 (large). Baselines
are the unpartitioned heap, measured in the same run:

- pruning one month: ``DROP TABLE`` of its partition vs ``DELETE ... WHERE changed_at``
  in that month on the heap (each in a transaction rolled back, so every run prunes the
  same month);
- "this month's changes for a table": the same ``count(*)`` on both;
- "this month's attendance for a course": two attendances-shaped copies
  (``bench_att_heap``, ``bench_att_parted`` partitioned by month on ``session_date``,
  the real table's indexes, the same rows over the same twelve months, 25 students a
  lesson, 200 courses) joined to one sessions table, the register counts by status;
- ``partitions_maintain`` on the project's own current schema, vs its ``--dry-run``.

    python benchmarks/bench_partitions.py [--scale small|default|large]   # or: make bench
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.timing import Row

ROWS = {"small": 100_000, "default": 300_000, "large": 1_000_000}
RUNS = {"small": 5, "default": 5, "large": 3}

COLUMNS = """
    id bigint NOT NULL, table_name varchar(63) NOT NULL, operation varchar(8) NOT NULL, row_pk text,
    new_data jsonb, changed_at timestamptz NOT NULL, changed_by integer
"""
FILL = """
INSERT INTO {table} SELECT g, (ARRAY['terms', 'courses', 'attendances', 'students'])[1 + g %% 4], 'UPDATE',
       (g %% 5000)::text, jsonb_build_object('status', 'present', 'n', g),
       date_trunc('month', now()) - interval '11 months' + (g::float / %(rows)s) * interval '365 days',
       CASE WHEN g %% 3 = 0 THEN g %% 50 END
FROM generate_series(1, %(rows)s) AS g
"""
INDEXES = """
CREATE INDEX ON {table} USING brin (changed_at);
CREATE INDEX ON {table} (table_name, row_pk);
CREATE INDEX ON {table} (changed_by, changed_at) WHERE changed_by IS NOT NULL;
"""


def _build(cursor: object, rows: int) -> list[str]:
    """Both tables; returns the partition names, oldest first."""
    execute = cursor.execute  # type: ignore[attr-defined]
    execute("DROP TABLE IF EXISTS bench_audit_heap, bench_audit_parted")
    execute(f"CREATE TABLE bench_audit_heap ({COLUMNS}, PRIMARY KEY (id))")
    execute(
        f"CREATE TABLE bench_audit_parted ({COLUMNS}, PRIMARY KEY (id, changed_at)) PARTITION BY RANGE (changed_at)"
    )
    names = []
    for offset in range(-12, 2):
        name = f"bench_audit_parted_m{offset + 12:02d}"
        execute(
            f"CREATE TABLE {name} PARTITION OF bench_audit_parted FOR VALUES"
            f" FROM (date_trunc('month', now()) + interval '{offset} months')"
            f" TO (date_trunc('month', now()) + interval '{offset + 1} months')"
        )
        names.append(name)
    execute("CREATE TABLE bench_audit_parted_default PARTITION OF bench_audit_parted DEFAULT")
    for table in ("bench_audit_heap", "bench_audit_parted"):
        execute(FILL.format(table=table), {"rows": rows})
        for statement in INDEXES.format(table=table).strip().splitlines():
            execute(statement)
        execute(f"ANALYZE {table}")
    return names


ATT_COLUMNS = """
    id bigint NOT NULL, student_id integer NOT NULL, session_id bigint NOT NULL, session_date date NOT NULL,
    status varchar(16) NOT NULL, minutes_late smallint NOT NULL, created_at timestamptz NOT NULL
"""
COURSES = 200
CLASS_SIZE = 25
# Sessions spread evenly over the twelve months up to the end of this one, course by course.
ATT_SESSIONS = """
INSERT INTO bench_att_sessions
SELECT g, g %% {courses}, (date_trunc('month', now()) - interval '11 months'
                          + ((g - 1)::float / %(sessions)s) * interval '12 months')::date
FROM generate_series(1, %(sessions)s) AS g
"""
ATT_FILL = """
INSERT INTO {table}
SELECT r, (r::bigint * 7919 %% 5000)::integer, s.id, s.session_date,
       (ARRAY['present', 'present', 'present', 'late', 'absent'])[1 + r %% 5], 0, s.session_date + time '09:05'
FROM generate_series(1, %(rows)s) AS r
JOIN bench_att_sessions AS s ON s.id = 1 + (r - 1) / {size}
"""
ATT_INDEXES = """
CREATE UNIQUE INDEX ON {table} (session_id, student_id, session_date);
CREATE INDEX ON {table} (student_id, session_id);
CREATE INDEX ON {table} (created_at);
"""
# The month comes as parameters, as the ORM sends it: the planner then prunes the partitions
# itself (with now() in the query, every partition is planned and pruned at run time).
THIS_MONTHS_REGISTER = """
SELECT a.status, count(*) FROM {table} AS a JOIN bench_att_sessions AS s ON s.id = a.session_id
WHERE s.course_id = %s AND a.session_date >= %s AND a.session_date < %s
GROUP BY a.status
"""
# The same, with the sessions narrowed to the month too: the planner then probes the
# register of each of the month's sessions instead of reading the whole month.
THIS_MONTHS_SESSIONS_REGISTER = """
SELECT a.status, count(*) FROM {table} AS a JOIN bench_att_sessions AS s ON s.id = a.session_id
WHERE s.course_id = %s AND a.session_date >= %s AND a.session_date < %s
  AND s.session_date >= %s AND s.session_date < %s
GROUP BY a.status
"""


def _build_attendance(cursor: object, rows: int) -> None:
    """The two attendances-shaped tables and their sessions, filled with the same rows."""
    execute = cursor.execute  # type: ignore[attr-defined]
    execute("DROP TABLE IF EXISTS bench_att_heap, bench_att_parted, bench_att_sessions")
    execute(
        "CREATE TABLE bench_att_sessions"
        " (id bigint PRIMARY KEY, course_id integer NOT NULL, session_date date NOT NULL)"
    )
    execute(ATT_SESSIONS.format(courses=COURSES), {"sessions": rows // CLASS_SIZE + 1})
    execute("CREATE INDEX ON bench_att_sessions (course_id, session_date)")
    execute(f"CREATE TABLE bench_att_heap ({ATT_COLUMNS}, PRIMARY KEY (id))")
    execute(
        f"CREATE TABLE bench_att_parted ({ATT_COLUMNS}, PRIMARY KEY (id, session_date))"
        " PARTITION BY RANGE (session_date)"
    )
    for offset in range(-12, 2):
        execute(
            f"CREATE TABLE bench_att_parted_m{offset + 12:02d} PARTITION OF bench_att_parted FOR VALUES"
            f" FROM ((date_trunc('month', now()) + interval '{offset} months')::date)"
            f" TO ((date_trunc('month', now()) + interval '{offset + 1} months')::date)"
        )
    execute("CREATE TABLE bench_att_parted_default PARTITION OF bench_att_parted DEFAULT")
    for table in ("bench_att_heap", "bench_att_parted"):
        execute(ATT_FILL.format(table=table, size=CLASS_SIZE), {"rows": rows})
        for statement in ATT_INDEXES.format(table=table).strip().splitlines():
            execute(statement)
        execute(f"ANALYZE {table}")
    execute("ANALYZE bench_att_sessions")


def run(scale: str) -> list[Row]:
    from django.db import connection, transaction

    from benchmarks.timing import measure, row
    from growthcompass.partitions.maintenance import partitions_maintain

    rows, runs = ROWS.get(scale, ROWS["default"]), RUNS.get(scale, RUNS["default"])
    with connection.cursor() as cursor:
        names = _build(cursor, rows)
    oldest = names[1]  # a full month (the first may be partial)
    month_window = (
        "changed_at >= date_trunc('month', now()) - interval '11 months'"
        " AND changed_at < date_trunc('month', now()) - interval '10 months'"
    )

    def rolled_back(statement: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
            transaction.set_rollback(True)

    drop = measure(lambda: rolled_back(f"DROP TABLE {oldest}"), runs=runs, warmup=1)
    delete = measure(lambda: rolled_back(f"DELETE FROM bench_audit_heap WHERE {month_window}"), runs=runs, warmup=1)  # noqa: S608 - constant text
    this_month = (
        "SELECT count(*) FROM {table} WHERE table_name = 'attendances'"
        " AND changed_at >= date_trunc('month', now()) - interval '1 month' AND changed_at < date_trunc('month', now())"
    )

    def query(table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(this_month.format(table=table))
            cursor.fetchone()

    heap_read = measure(lambda: query("bench_audit_heap"), runs=runs * 6, warmup=3)
    parted_read = measure(lambda: query("bench_audit_parted"), runs=runs * 6, warmup=3)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_audit_heap, bench_audit_parted")
        _build_attendance(cursor, rows)
        cursor.execute(
            "SELECT date_trunc('month', now())::date, (date_trunc('month', now()) + interval '1 month')::date"
        )
        first_day, next_first_day = cursor.fetchone()

    def register(table: str, *, sessions_too: bool = False) -> Callable[[], None]:
        # A different course each time, the same sequence for both tables: no one course's pages stay hot.
        courses = itertools.count()
        query = (THIS_MONTHS_SESSIONS_REGISTER if sessions_too else THIS_MONTHS_REGISTER).format(table=table)
        window = [first_day, next_first_day] * (2 if sessions_too else 1)

        def one() -> None:
            with connection.cursor() as cursor:
                cursor.execute(query, [next(courses) % COURSES, *window])
                cursor.fetchall()

        return one

    heap_register = measure(register("bench_att_heap"), runs=runs * 20, warmup=5)
    parted_register = measure(register("bench_att_parted"), runs=runs * 20, warmup=5)
    heap_sessions = measure(register("bench_att_heap", sessions_too=True), runs=runs * 20, warmup=5)
    parted_sessions = measure(register("bench_att_parted", sessions_too=True), runs=runs * 20, warmup=5)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_att_heap, bench_att_parted, bench_att_sessions")
    partitions_maintain()  # current from here on
    maintain = measure(lambda: partitions_maintain(), runs=runs * 4, warmup=2)
    dry_run = measure(lambda: partitions_maintain(dry_run=True), runs=runs * 4, warmup=2)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_audit_heap, bench_audit_parted")
    name = "partitions"
    month_rows = f"{rows // 12:,} of {rows:,} rows"
    return [
        row(
            name,
            "prune one month: DROP its partition",
            drop,
            baseline="DELETE the month from the heap",
            baseline_sample=delete,
            target=">= 10x faster",
            min_speedup=10.0,
            note=month_rows,
        ),
        row(
            name,
            "this month's changes for a table: partitioned",
            parted_read,
            baseline="same query on the heap",
            baseline_sample=heap_read,
            target="<= 1.0x the heap",
            max_ratio=1.0,
            note=f"{rows:,} rows",
        ),
        row(
            name,
            "this month's attendance for a course: partitioned",
            parted_register,
            baseline="same query on the heap",
            baseline_sample=heap_register,
            target="<= 1.2x the heap",
            max_ratio=1.2,
            note=f"{rows:,} attendance rows, {COURSES} courses",
        ),
        row(
            name,
            "this month's attendance for a course, sessions narrowed to the month: partitioned",
            parted_sessions,
            baseline="same query on the heap",
            baseline_sample=heap_sessions,
            target="<= 1.2x the heap",
            max_ratio=1.2,
            note=f"{rows:,} attendance rows",
        ),
        row(
            name,
            "partitions_maintain on a current schema",
            maintain,
            baseline="partitions_maintain --dry-run",
            baseline_sample=dry_run,
            target="<= 2x the dry run",
            max_ratio=2.0,
        ),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    sys.exit(main(run, __doc__, needs_dataset=False))
