"""What row-level security costs per statement, with the three variants interleaved call by call.

``bench_rls`` times whole operations (the ORM, the admin, the API) phase by
phase; on a shared machine its phases drift apart by more than the policies
cost. This one sends the same SQL over three raw psycopg connections — the
owner (a superuser, to whom no policy applies), and the application role in an
administrator's and in a teacher's scope — one call of each in turn, so drift
hits all three alike. Every statement carries the same ``set_config`` prefix
the application sends, in every variant, so only the policies differ.

    python benchmarks/bench_rls_statements.py [--scale small|default|large]
    python -m benchmarks --only rls_statements
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from benchmarks.timing import Row

RUNS = {"small": 300, "default": 400, "large": 400}
NAME = "rls_statements"
POINT_AND_RANKED = 1.15
PAGES_AND_WRITES = 1.3
PREFIX = "SELECT set_config('growthcompass.rls_kind', %s, true), set_config('growthcompass.rls_user', %s, true); "


def _connect(user: str, password: str | None) -> psycopg.Connection[Any]:
    import psycopg
    from django.db import connection

    params = dict(connection.get_connection_params())
    params.update(user=user, password=password or None, autocommit=True)
    params.pop("cursor_factory", None)
    return psycopg.connect(**{key: value for key, value in params.items() if value is not None})


def _statement(conn: psycopg.Connection[Any], kind: str, user: str, sql: str, params: list[Any]) -> Callable[[], None]:
    import psycopg

    cursor = psycopg.ClientCursor(conn)  # one string, as Django sends it: prefix and statement together
    query = PREFIX + sql

    def run() -> None:
        cursor.execute(query, [kind, user, *params])
        while cursor.nextset():
            pass

    return run


def run(scale: str) -> list[Row]:
    from django.db import connection

    from benchmarks.timing import interleaved, row
    from growthcompass.db.roles import APPLICATION_ROLE, owner_database

    owner_settings = owner_database() or connection.settings_dict
    owner = _connect(owner_settings["USER"], owner_settings.get("PASSWORD"))
    app = _connect(APPLICATION_ROLE, None)
    found = owner.execute(
        "SELECT c.teacher_id FROM courses c JOIN enrollments e ON e.course_id = c.id "
        "WHERE c.teacher_id IS NOT NULL AND e.status IN ('active', 'completed') "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    if found is None:
        raise RuntimeError("bench_rls_statements needs seeded courses with teachers (seed_demo)")
    teacher = found[0]
    student, grade = owner.execute(
        "SELECT s.id, s.grade_level FROM students s JOIN enrollments e ON e.student_id = s.id "
        "JOIN courses c ON c.id = e.course_id WHERE c.teacher_id = %s AND e.status IN ('active', 'completed') "
        "ORDER BY s.id LIMIT 1",
        [teacher],
    ).fetchone() or (None, None)
    attendance = owner.execute(
        "SELECT a.id FROM attendances a JOIN class_sessions s ON s.id = a.session_id "
        "JOIN courses c ON c.id = s.course_id WHERE c.teacher_id = %s ORDER BY a.id LIMIT 1",
        [teacher],
    ).fetchone()
    if student is None or attendance is None:
        raise RuntimeError("bench_rls_statements needs a teacher with enrolled students and attendance (seed_demo)")
    operations = {
        "point": (
            "student point read (primary key)",
            "SELECT * FROM students WHERE id = %s",
            [student],
            POINT_AND_RANKED,
        ),
        "ranked": (
            f"50 lowest-attendance students of grade {grade}",
            "SELECT id FROM {view} WHERE grade_level = %s AND attendance_rate IS NOT NULL "
            "ORDER BY attendance_rate, id LIMIT 50",
            [grade],
            POINT_AND_RANKED,
        ),
        "page": ("a page of 50 students", "SELECT * FROM students ORDER BY id DESC LIMIT 50", [], PAGES_AND_WRITES),
        "count": ("count of the students (a changelist's)", "SELECT count(*) FROM students", [], PAGES_AND_WRITES),
        "write": (
            "single attendance write (UPDATE one row)",
            "UPDATE attendances SET minutes_late = minutes_late WHERE id = %s",
            [attendance[0]],
            PAGES_AND_WRITES,
        ),
    }
    runs = RUNS.get(scale, RUNS["default"])
    rows: list[Row] = []
    try:
        for label, sql, params, limit in operations.values():
            samples = interleaved(
                {
                    # The owner reads the stored view, the application role its security-barrier view.
                    "disabled": _statement(owner, "admin", "1", sql.format(view="student_metrics_mv_rows"), params),
                    "admin": _statement(app, "admin", "1", sql.format(view="student_metrics_mv"), params),
                    "teacher": _statement(app, "teacher", str(teacher), sql.format(view="student_metrics_mv"), params),
                },
                runs=runs,
                block=1,
            )
            for variant in ("admin", "teacher"):
                rows.append(
                    row(
                        NAME,
                        f"{label}, as {variant} (SQL, interleaved)",
                        samples[variant],
                        baseline="RLS disabled (owner)",
                        baseline_sample=samples["disabled"],
                        target=f"<= {limit}x disabled",
                        max_ratio=limit,
                    )
                )
    finally:
        owner.close()
        app.close()
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
