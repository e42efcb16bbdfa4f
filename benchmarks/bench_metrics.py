"""The student metrics view against computing the same numbers live, refresh costs, query-tracking overhead.

Rows (every baseline is measured in the same run):

* one student's metrics from the view through the ORM, against the same row
  through raw psycopg (target: within 2x) -- and the live aggregate for comparison;
* the 50 lowest-attendance students of a grade from the view, against the
  live aggregate (target: the view at least 100x faster);
* a concurrent refresh against a plain one;
* the query-tracking wrapper's own cost per query, against an uncached point
  read with tracking off (target: under 5%), and the point read with tracking
  on against off.

    python benchmarks/bench_metrics.py [--scale small|default|large] [--reseed]   # or: make bench

``small`` is 1,000 students (~100,000 attendance rows), ``default`` 10,000
(~1,000,000), ``large`` 100,000. The data comes from ``seed_demo`` in the
``<database>_bench`` database; it is reused when it already has the students.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.timing import Row

RUNS = {"small": 300, "default": 300, "large": 200}
LIVE_RUNS = {"small": 10, "default": 5, "large": 3}
REFRESH_RUNS = {"small": 5, "default": 3, "large": 2}
SEED = 42
NAME = "metrics"


def run(scale: str) -> list[Row]:
    import psycopg
    from django.db import connections
    from django.db.models import F
    from django.test.utils import override_settings

    from benchmarks.timing import batched, interleaved, measure, row, summarise
    from dashboards.live import student_metrics_live
    from dashboards.models import StudentMetrics
    from dashboards.refresh import materialized_view_refresh
    from dashboards.selectors import student_metrics_get, student_metrics_lowest_attendance
    from growthcompass.cache.listen_loop import listener_connection_params
    from growthcompass.db import monitoring
    from growthcompass.db.monitoring import tracker
    from students.models import Student

    runs = RUNS.get(scale, RUNS["default"])
    live_runs = LIVE_RUNS.get(scale, LIVE_RUNS["default"])
    refresh_runs = REFRESH_RUNS.get(scale, REFRESH_RUNS["default"])
    rows: list[Row] = []
    # DEBUG would make Django keep every query in connection.queries: not what production pays.
    # The live aggregate is slow on purpose; its slow-query warnings would only clutter the table.
    with override_settings(DEBUG=False, SLOW_QUERY_MS=60_000):
        refreshes = interleaved(
            {
                "plain": lambda: materialized_view_refresh(concurrently=False),
                "concurrent": lambda: materialized_view_refresh(concurrently=True),
            },
            runs=refresh_runs,
            block=1,
        )
        plain, concurrent = refreshes["plain"], refreshes["concurrent"]
        rows.append(
            row(
                NAME,
                "refresh concurrently (readers not blocked)",
                concurrent,
                baseline="plain refresh (blocks readers)",
                baseline_sample=plain,
                target="informational",
            )
        )

        ids = list(StudentMetrics.objects.values_list("pk", flat=True))
        rng = random.Random(SEED)
        picks = [rng.choice(ids) for _ in range(4096)]
        position = [0]

        def next_id() -> int:
            position[0] = (position[0] + 1) % len(picks)
            return picks[position[0]]

        columns = [f.column for f in StudentMetrics._meta.concrete_fields]
        point_sql = f"SELECT {', '.join(columns)} FROM student_metrics_mv WHERE id = %s"  # noqa: S608 - fixed names

        # A psycopg connection of its own, minus Django: under row-level security it declares its
        # scope once for its session (the pooled connections never carry a session setting).
        raw = psycopg.connect(**listener_connection_params(), autocommit=True)
        raw.execute("SET growthcompass.rls_kind = 'system'")

        def raw_read() -> None:
            with raw.cursor() as cursor:
                cursor.execute(point_sql, [next_id()])
                assert cursor.fetchone() is not None

        def orm_read() -> None:
            assert student_metrics_get(student_id=next_id()) is not None

        def queryset_get() -> None:
            StudentMetrics.objects.get(pk=next_id())

        reads = interleaved({"raw": raw_read, "orm": orm_read, "get": queryset_get}, runs=runs)
        raw.close()
        raw_sample, orm_sample, get_sample = reads["raw"], reads["orm"], reads["get"]
        rows.append(
            row(
                NAME,
                "one student's metrics: view via ORM (student_metrics_get)",
                orm_sample,
                baseline="same row via raw psycopg",
                baseline_sample=raw_sample,
                target="<= 2x raw psycopg",
                max_ratio=2.0,
            )
        )
        rows.append(
            row(
                NAME,
                "one student's metrics: view via queryset .get()",
                get_sample,
                baseline="same row via raw psycopg",
                baseline_sample=raw_sample,
                target="informational (compiles the query each time)",
            )
        )

        def live_read() -> None:
            student_metrics_live(Student.objects.filter(pk=next_id())).get()

        live_point = measure(live_read, runs=max(20, runs // 5), warmup=5)
        rows.append(
            row(
                NAME,
                "one student's metrics: live aggregate via ORM",
                live_point,
                baseline="view via ORM",
                baseline_sample=orm_sample,
                target="informational",
            )
        )

        grades = list(StudentMetrics.objects.values_list("grade_level", flat=True).distinct())
        grade = max(grades, key=lambda g: StudentMetrics.objects.filter(grade_level=g).count())

        def ranked_view() -> None:
            assert len(list(student_metrics_lowest_attendance(grade=grade, limit=50))) == 50

        def ranked_live() -> None:
            students = student_metrics_live(Student.objects.filter(grade_level=grade))
            assert len(list(students.order_by(F("attendance_rate").asc(nulls_last=True), "pk")[:50])) == 50

        view_ranked = measure(ranked_view, runs=runs, warmup=20)
        live_ranked = measure(ranked_live, runs=live_runs, warmup=1)
        rows.append(
            row(
                NAME,
                f"50 lowest attendance in grade {grade}: view via ORM",
                view_ranked,
                baseline="live aggregate via ORM",
                baseline_sample=live_ranked,
                target=">= 100x faster than live",
                min_speedup=100.0,
            )
        )

        # Tracking overhead. First the wrapper alone, around an execute that does nothing,
        # with the point read's own SQL text: exactly the work tracking adds to a query.
        context = {"connection": connections["default"], "cursor": None}
        template = str(StudentMetrics.objects.filter(pk=1).order_by().query.sql_with_params()[0])

        def noop(sql: Any, params: Any, many: bool, ctx: Any) -> None:
            return None

        def wrapped_noop() -> None:
            tracker(noop, template, (1,), False, context)

        untracked_noop = batched(lambda: noop(template, (1,), False, context), batch=2000, samples=100, warmup=False)
        tracked_noop = batched(wrapped_noop, batch=2000, samples=100, warmup=False)
        cost = summarise([max(0.0, tracked_noop.p50_ms - untracked_noop.p50_ms)])

        # Then the point read end to end, with tracking off and on, interleaved so drift hits both.
        # Switching costs once per block of ten, on both sides alike; p50 never sees it.
        def tracked_read() -> None:
            if not monitoring.is_installed():
                monitoring.install()
            orm_read()

        def untracked_read() -> None:
            if monitoring.is_installed():
                monitoring.uninstall()
            orm_read()

        toggled = interleaved({"on": tracked_read, "off": untracked_read}, runs=runs)
        monitoring.install()
        on_sample, off_sample = toggled["on"], toggled["off"]
        rows.append(
            row(
                NAME,
                "query tracking: wrapper cost per query",
                cost,
                baseline="uncached point read (ORM, tracking off)",
                baseline_sample=off_sample,
                target="< 5% of the point read",
                max_ratio=0.05,
            )
        )
        rows.append(
            row(
                NAME,
                "uncached point read (ORM), tracking on",
                on_sample,
                baseline="tracking off",
                baseline_sample=off_sample,
                target="informational (noise ~ the overhead)",
            )
        )
        tracker.reset()
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
