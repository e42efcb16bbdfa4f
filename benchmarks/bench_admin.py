"""Admin changelist pages at scale: students and attendances, as a logged-in staff user sees them.

Each page is fetched through Django's test client (the whole middleware stack,
session and audit context included, templates rendered; no network), timed
call by call against its baseline, the hand-written ORM query for the same 100
rows the page shows, so the ratio is what the admin adds on top of fetching the
rows: counting, filters, the date hierarchy and rendering. The number of
queries one page makes is counted separately (untimed) and shown in the note.

Targets (this benchmark's own; the admin must stay usable at 1,000,000
attendance rows): at most 10 queries a page, whatever the table size, and a
p50 under 200 ms a page.

    python benchmarks/bench_admin.py [--scale small|default|large] [--reseed]   # or: make bench
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.test import Client

    from benchmarks.timing import Row

NAME = "admin"
RUNS = {"small": 40, "default": 30, "large": 15}
MAX_QUERIES = 10
MAX_P50_MS = 200.0
PAGE_ROWS = 100  # ModelAdmin.list_per_page
STAFF_USERNAME = "bench-admin-staff"


@dataclass(frozen=True)
class Page:
    """A changelist URL and the ORM query for the rows it lists."""

    label: str
    url: str
    rows: Callable[[], list[Any]]


def _pages() -> list[Page]:
    from django.db.models import Q
    from django.urls import reverse

    from attendance.models import Attendance
    from students.models import Student

    students = reverse("admin:students_student_changelist")
    attendances = reverse("admin:attendance_attendance_changelist")
    student_rows = Student.objects.select_related("user")
    attendance_rows = Attendance.objects.select_related("student__user", "session", "recorded_by")
    smith = Q()
    for field in ("student_number", "user__first_name", "user__last_name", "user__email"):  # its search_fields
        smith |= Q(**{f"{field}__icontains": "smith"})
    return [
        Page(
            "students changelist, first page",
            students,
            lambda: list(student_rows.order_by("student_number", "-pk")[:PAGE_ROWS]),
        ),
        Page(
            "students changelist, grade 7, sorted by name",
            f"{students}?grade_level__exact=7&o=2",
            lambda: list(student_rows.filter(grade_level=7).order_by("user__last_name", "-pk")[:PAGE_ROWS]),
        ),
        Page(
            "students changelist, search 'smith'",
            f"{students}?q=smith",
            lambda: list(student_rows.filter(smith).order_by("student_number", "-pk")[:PAGE_ROWS]),
        ),
        Page(
            "attendances changelist, first page",
            attendances,
            lambda: list(attendance_rows.order_by("-created_at", "-pk")[:PAGE_ROWS]),
        ),
        Page(
            "attendances changelist, late only, sorted by minutes late",
            f"{attendances}?status__exact=late&o=-4",
            lambda: list(attendance_rows.filter(status="late").order_by("-minutes_late", "-pk")[:PAGE_ROWS]),
        ),
    ]


def _staff_client() -> Client:
    from django.contrib.auth.models import User
    from django.test import Client

    staff, _ = User.objects.update_or_create(
        username=STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True, "is_active": True}
    )
    client = Client()
    client.force_login(staff)
    return client


def _query_count(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def run(scale: str) -> list[Row]:
    from django.conf import settings
    from django.test.utils import override_settings

    from benchmarks.timing import paired, row

    runs = RUNS.get(scale, RUNS["default"])
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host, whatever ALLOWED_HOSTS says
    rows: list[Row] = []
    # DEBUG off: production does not keep every query in connection.queries.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts, SLOW_QUERY_MS=60_000):
        client = _staff_client()
        for page in _pages():

            def fetch(url: str = page.url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            queries = _query_count(client, page.url)
            sample, baseline = paired(fetch, page.rows, runs=runs, warmup=3)
            measured = row(
                NAME,
                page.label,
                sample,
                baseline=f"ORM query for the page's {PAGE_ROWS} rows",
                baseline_sample=baseline,
                target=f"<= {MAX_QUERIES} queries, p50 <= {MAX_P50_MS:g} ms",
                note=f"{queries} queries",
            )
            rows.append(replace(measured, met=queries <= MAX_QUERIES and sample.p50_ms <= MAX_P50_MS))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
