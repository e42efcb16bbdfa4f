"""What row-level security costs: the same operations as an administrator, as a teacher, and with RLS disabled.

"Disabled" is the owner of the tables (a superuser, to whom no policy applies) running the same
statements; "admin" and "teacher" are the application role in those scopes. The three variants run
in the same process against the same data, phase after phase, each phase repeated in rounds so
drift hits all three alike. Targets (teacher and admin against disabled, p50): at most 1.15x on the
indexed point read and the ranked list, at most 1.3x on the students changelist page, the JSON API
page and the single attendance write.

    python benchmarks/bench_rls.py [--scale small|default|large]   # or: python -m benchmarks --only rls

Needs the owner's URL (``MIGRATION_DATABASE_URL``, or a superuser ``DATABASE_URL``) and the
``growthcompass_app`` login role on the same server (created by ``migrate``; trust or peer
authentication, as in development and CI).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.timing import Row, Sample

RUNS = {"small": 200, "default": 150, "large": 100}
ROUNDS = 3
NAME = "rls"
POINT_AND_RANKED = 1.15
PAGES_AND_WRITES = 1.3


@contextmanager
def _default_as(user: str, password: str | None) -> Iterator[None]:
    """Connect the default alias as ``user`` for the block (its pool and connections reset around it)."""
    from django.db import connections

    from growthcompass.db.roles import _reset_connections

    settings_dict = connections["default"].settings_dict
    saved = (settings_dict["USER"], settings_dict.get("PASSWORD"))
    _reset_connections(settings_dict)
    settings_dict["USER"], settings_dict["PASSWORD"] = user, password
    try:
        yield
    finally:
        _reset_connections(settings_dict)
        settings_dict["USER"], settings_dict["PASSWORD"] = saved


def run(scale: str) -> list[Row]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count, F
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    from attendance.models import Attendance
    from benchmarks.timing import _timed_ms, row, summarise
    from courses.models import Course
    from growthcompass.db.roles import APPLICATION_ROLE, owner_database
    from growthcompass.rls import rls_context, rls_system_context
    from students.models import Student

    runs = RUNS.get(scale, RUNS["default"])
    owner = owner_database() or connection.settings_dict
    owner_user, owner_password = owner["USER"], owner.get("PASSWORD")

    with _default_as(owner_user, owner_password), rls_system_context(reason="bench_rls set-up"):
        from dashboards.refresh import materialized_view_refresh

        materialized_view_refresh(concurrently=False)
        course = (
            Course.objects.filter(teacher__isnull=False, term__starts_on__lte=timezone.localdate())
            .annotate(n=Count("enrollments", distinct=True))
            .filter(sessions__attendances__isnull=False)
            .order_by("-n", "pk")
            .select_related("teacher")
            .first()
        )
        if course is None or course.teacher is None:
            raise RuntimeError("bench_rls needs seeded courses with teachers (seed_demo)")
        teacher: User = course.teacher
        admin, _ = User.objects.get_or_create(username="bench-rls-admin", defaults={"is_staff": True})
        User.objects.filter(pk=admin.pk).update(is_superuser=True, is_staff=True)
        User.objects.filter(pk=teacher.pk).update(is_staff=True)
        from django.contrib.auth.models import Permission

        teacher.user_permissions.add(*Permission.objects.filter(content_type__app_label="students"))
        student_ids = list(
            Student.objects.filter(
                enrollments__course__teacher=teacher, enrollments__status__in=["active", "completed"]
            )
            .values_list("pk", flat=True)
            .distinct()[:200]
        )
        attendance_id = Attendance.objects.filter(session__course=course).values_list("pk", flat=True).first()
        grade = course.grade_level
        admin = User.objects.get(pk=admin.pk)
        teacher = User.objects.get(pk=teacher.pk)
    if not student_ids or attendance_id is None:
        raise RuntimeError("bench_rls needs a teacher with enrolled students and attendance (seed_demo)")

    picks = iter(range(10**9))

    def point_read() -> None:
        Student.objects.get(pk=student_ids[next(picks) % len(student_ids)])

    def ranked(relation: str) -> Callable[[], None]:
        statement = (
            f"SELECT id FROM {relation} WHERE grade_level = %s AND attendance_rate IS NOT NULL "  # noqa: S608 - fixed names
            "ORDER BY attendance_rate, id LIMIT 50"
        )

        def query() -> None:
            with connection.cursor() as cursor:
                cursor.execute(statement, [grade])
                cursor.fetchall()

        return query

    def client_for(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def get(client: Client, path: str) -> Callable[[], None]:
        def request() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return request

    def write() -> None:
        Attendance.objects.filter(pk=attendance_id).update(minutes_late=F("minutes_late"))

    changelist = "/admin/students/student/"
    api_page = "/api/students/?limit=50"
    samples: dict[tuple[str, str], list[float]] = {}

    def phase(variant: str, operations: dict[str, Callable[[], None]]) -> None:
        for operation, func in operations.items():
            for _ in range(10):
                func()
            samples.setdefault((variant, operation), []).extend(_timed_ms(func) for _ in range(runs))

    with override_settings(DEBUG=False, SLOW_QUERY_MS=60_000, CACHE_LOCAL_TIER=False):
        for _ in range(ROUNDS):
            with _default_as(owner_user, owner_password), rls_context(user=admin):
                admin_client = client_for(admin)
                phase(
                    "disabled",
                    {
                        "point": point_read,
                        "ranked": ranked("student_metrics_mv_rows"),
                        "changelist": get(admin_client, changelist),
                        "api": get(admin_client, api_page),
                        "write": write,
                    },
                )
            with _default_as(APPLICATION_ROLE, None):
                for variant, user in (("admin", admin), ("teacher", teacher)):
                    with rls_context(user=user):
                        user_client = client_for(user)
                        phase(
                            variant,
                            {
                                "point": point_read,
                                "ranked": ranked("student_metrics_mv"),
                                "changelist": get(user_client, changelist),
                                "api": get(user_client, api_page),
                                "write": write,
                            },
                        )

    labels = {
        "point": ("student point read (primary key)", POINT_AND_RANKED),
        "ranked": (f"50 lowest-attendance students of grade {grade}", POINT_AND_RANKED),
        "changelist": ("students changelist page (admin)", PAGES_AND_WRITES),
        "api": ("JSON API page: /api/students/?limit=50", PAGES_AND_WRITES),
        "write": ("single attendance write (UPDATE one row)", PAGES_AND_WRITES),
    }
    rows: list[Row] = []
    for operation, (label, limit) in labels.items():
        baseline: Sample = summarise(samples[("disabled", operation)])
        for variant in ("admin", "teacher"):
            rows.append(
                row(
                    NAME,
                    f"{label}, as {variant}",
                    summarise(samples[(variant, operation)]),
                    baseline="RLS disabled (owner)",
                    baseline_sample=baseline,
                    target=f"<= {limit}x disabled",
                    max_ratio=limit,
                    note=f"teacher with {len(student_ids)} students" if variant == "teacher" else "",
                )
            )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
