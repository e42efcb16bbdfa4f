"""The safe query API against the same queries written by hand with the ORM.

Each row times a safe-query call (checking the table, columns, operators and
values, converting the values, routing and the retry wrapper included) against
the hand-written ORM query returning the same rows, measured in the same run,
interleaved call by call so machine noise hits both alike. Target: the safe
API within 1.25x of the ORM at p50. Informational rows: the cost of checking a
query alone, a LIKE pattern (run as an anchored regular expression) against
PostgreSQL's own ILIKE, and the JSON endpoint end to end.

    python benchmarks/bench_query.py [--scale small|default|large] [--reseed]   # or: make bench

``small`` is 1,000 students (~100,000 attendance rows), ``default`` 10,000,
``large`` 100,000. The data comes from ``seed_demo`` in the ``<database>_bench``
database; it is reused when it already has the students.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.timing import Row

RUNS = {"small": 400, "default": 300, "large": 200}
SEED = 42
NAME = "query"
MAX_RATIO = 1.25


def run(scale: str) -> list[Row]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import F
    from django.test import Client
    from django.test.utils import override_settings

    from attendance.models import Attendance
    from benchmarks.timing import measure, paired, row
    from courses.models import Enrollment
    from growthcompass.db import Condition, build_queryset, count, find_many, find_one
    from students.models import Student

    runs = RUNS.get(scale, RUNS["default"])
    rng = random.Random(SEED)
    student_ids = list(Student.objects.values_list("pk", flat=True))
    numbers = list(Student.objects.values_list("student_number", flat=True))
    course_ids = list(Enrollment.objects.values_list("course_id", flat=True).distinct()[:200])
    student_columns = ["user_id", "student_number", "grade_level", "status", "enrolled_on", "left_on", "leaving_reason"]
    attendance_columns = [f.attname for f in Attendance._meta.concrete_fields]
    rows: list[Row] = []

    def pick(values: list[Any]) -> Any:
        return values[rng.randrange(len(values))]

    with override_settings(DEBUG=False, SLOW_QUERY_MS=60_000):
        # 1. A filtered, sorted page of students.
        def api_page() -> None:
            find_many(
                "students",
                [("grade_level", ">=", pick([5, 7, 9])), ("status", "IN", ["active", "inactive"])],
                order_by="student_number",
                limit=20,
            )

        def orm_page() -> None:
            list(
                Student.objects.filter(grade_level__gte=pick([5, 7, 9]), status__in=["active", "inactive"])
                .order_by("student_number", "pk")
                .values(*student_columns)[:20]
            )

        api, orm = paired(api_page, orm_page, runs=runs)
        page_sample = api
        rows.append(
            row(
                NAME,
                "find_many students: 2 conditions, order, limit 20",
                api,
                baseline="hand-written ORM",
                baseline_sample=orm,
                target=f"<= {MAX_RATIO}x ORM",
                max_ratio=MAX_RATIO,
            )
        )

        # 2. One row by a unique column.
        def api_one() -> None:
            assert find_one("students", {"student_number": pick(numbers)}) is not None

        def orm_one() -> None:
            found = Student.objects.filter(student_number=pick(numbers)).order_by("pk").values(*student_columns)
            assert found.first() is not None

        api, orm = paired(api_one, orm_one, runs=runs)
        rows.append(
            row(
                NAME,
                "find_one student by student_number",
                api,
                baseline="hand-written ORM",
                baseline_sample=orm,
                target=f"<= {MAX_RATIO}x ORM",
                max_ratio=MAX_RATIO,
            )
        )

        # 3. A count over enrolments.
        def api_count() -> None:
            count("enrollments", [("status", "=", "active"), ("course_id", "IN", [pick(course_ids) for _ in range(5)])])

        def orm_count() -> None:
            Enrollment.objects.filter(status="active", course_id__in=[pick(course_ids) for _ in range(5)]).count()

        api, orm = paired(api_count, orm_count, runs=runs)
        rows.append(
            row(
                NAME,
                "count enrollments: status and 5 courses",
                api,
                baseline="hand-written ORM",
                baseline_sample=orm,
                target=f"<= {MAX_RATIO}x ORM",
                max_ratio=MAX_RATIO,
            )
        )

        # 4. A student's latest attendance.
        def api_attendance() -> None:
            find_many(
                "attendances",
                {"student_id": pick(student_ids)},
                order_by="created_at",
                order_direction="DESC",
                limit=50,
            )

        def orm_attendance() -> None:
            list(
                Attendance.objects.filter(student_id=pick(student_ids))
                .order_by(F("created_at").desc(), F("id").desc())
                .values(*attendance_columns)[:50]
            )

        api, orm = paired(api_attendance, orm_attendance, runs=runs)
        rows.append(
            row(
                NAME,
                "find_many attendances: one student, newest 50",
                api,
                baseline="hand-written ORM",
                baseline_sample=orm,
                target=f"<= {MAX_RATIO}x ORM",
                max_ratio=MAX_RATIO,
            )
        )

        # 5. Checking alone: building the QuerySet without running it.
        check = measure(
            lambda: build_queryset(
                "students",
                [("grade_level", ">=", "7"), ("status", "IN", ["active"]), ("enrolled_on", "<", "2025-01-01")],
            ),
            runs=runs,
        )
        rows.append(
            row(
                NAME,
                "checking 3 conditions (no query)",
                check,
                baseline="find_many students page",
                baseline_sample=page_sample,
                target="informational",
            )
        )

        # 6. A LIKE pattern: the anchored regular expression against PostgreSQL's ILIKE.
        prefixes = ["a", "b", "ma", "jo", "s", "el"]

        def api_pattern() -> None:
            find_many("guardians", [Condition("full_name", "ILIKE", f"{pick(prefixes)}%n", wildcards=True)], limit=50)

        like_sql = (
            "SELECT id, student_id, full_name, relationship, phone, email, is_primary, is_emergency_contact "
            "FROM guardians WHERE full_name ILIKE %s ORDER BY id LIMIT 50"
        )

        def raw_ilike() -> None:
            with connection.cursor() as cursor:
                cursor.execute(like_sql, [f"{pick(prefixes)}%n"])
                cursor.fetchall()

        api, raw = paired(api_pattern, raw_ilike, runs=runs)
        rows.append(
            row(
                NAME,
                "ILIKE pattern on guardians (regex translation)",
                api,
                baseline="raw parametrised ILIKE",
                baseline_sample=raw,
                target="informational",
            )
        )

        # 7. The JSON endpoint end to end (session auth, query parsing, JSON).
        client = Client()
        staff, _ = User.objects.update_or_create(username="bench-query-staff", defaults={"is_staff": True})
        client.force_login(staff)
        url = "/api/students/?grade_level__gte=7&status__in=active,inactive&order=student_number&limit=20"

        def endpoint() -> None:
            assert client.get(url).status_code == 200

        def direct() -> None:
            find_many(
                "students",
                [("grade_level", ">=", 7), ("status", "IN", ["active", "inactive"])],
                order_by="student_number",
                limit=20,
            )

        http, plain = paired(endpoint, direct, runs=max(50, runs // 2))
        rows.append(
            row(
                NAME,
                "GET /api/students/ (filters, order, limit 20)",
                http,
                baseline="find_many direct",
                baseline_sample=plain,
                target="informational",
            )
        )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
