"""The staff dashboard's pages at scale, each next to the admin changelist of the same data.

Each page is fetched through Django's test client as a logged-in superuser (the
whole middleware stack, session and audit context, templates and SVG rendered;
no network), timed call by call against its baseline: the admin changelist
that lists the same rows (the metrics changelist for the school overview and
the operations page, the metrics changelist searched for the student, the
enrolments changelist searched for the course). The number of queries a page
makes is counted once more, untimed, with the cache warm (the steady state).

Targets (issue 15): at most 150 ms and at most 12 queries a page, at the
default scale (10,000 students, about 1,000,000 attendance rows).

    python benchmarks/bench_dashboard.py [--scale small|default|large] [--reseed]   # or: make bench
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.test import Client

    from benchmarks.timing import Row

NAME = "dashboard"
RUNS = {"small": 40, "default": 30, "large": 15}
MAX_QUERIES = 12
MAX_P50_MS = 150.0
STAFF_USERNAME = "bench-dashboard-staff"


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    baseline_label: str
    baseline_url: str


def _pages() -> list[Page]:
    from django.db.models import Count, Q
    from django.urls import reverse

    from courses.models import Course, EnrollmentStatus
    from dashboards.models import StudentMetrics

    metrics = reverse("admin:dashboards_studentmetrics_changelist")
    student = (
        StudentMetrics.objects.filter(status="active", feedback_count__gt=0, active_enrollments__gt=0)
        .order_by("student_id")
        .values_list("student_id", "student_number")
        .first()
    )
    course = (
        Course.objects.annotate(roster=Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.ACTIVE)))
        .filter(roster__gt=0)
        .order_by("-roster", "id")
        .values_list("id", "code")
        .first()
    )
    assert student is not None and course is not None, "the dataset has no active student or course"
    enrollments = reverse("admin:courses_enrollment_changelist")
    return [
        Page("school overview", reverse("admin:dashboards_school"), "metrics changelist", metrics),
        Page(
            "school overview, grade 7",
            reverse("admin:dashboards_school") + "?grade=7",
            "metrics changelist, grade 7",
            f"{metrics}?grade_level__exact=7",
        ),
        Page(
            "student page",
            reverse("admin:dashboards_student", args=[student[0]]),
            "metrics changelist, searched for the student",
            f"{metrics}?q={student[1]}",
        ),
        Page(
            "course page (largest roster)",
            reverse("admin:dashboards_course", args=[course[0]]),
            "enrolments changelist, searched for the course",
            f"{enrollments}?q={course[1]}",
        ),
        Page("operations page", reverse("admin:dashboards_operations"), "metrics changelist", metrics),
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

    client.get(url)  # the cache warm: what every request after the first one sees
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def run(scale: str) -> list[Row]:
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    from benchmarks.timing import paired, row

    runs = RUNS.get(scale, RUNS["default"])
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("refresh_views", stdout=io.StringIO())  # every view, the dashboard's summaries included
    rows: list[Row] = []
    # DEBUG off: production does not keep every query in connection.queries.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts, SLOW_QUERY_MS=60_000):
        client = _staff_client()
        for page in _pages():

            def fetch_page(url: str = page.url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            def fetch_changelist(url: str = page.baseline_url) -> None:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)

            queries = _query_count(client, page.url)
            baseline_queries = _query_count(client, page.baseline_url)
            sample, baseline = paired(fetch_page, fetch_changelist, runs=runs, warmup=3)
            measured = row(
                NAME,
                page.label,
                sample,
                baseline=page.baseline_label,
                baseline_sample=baseline,
                target=f"<= {MAX_QUERIES} queries, p50 <= {MAX_P50_MS:g} ms",
                note=f"{queries} queries (changelist {baseline_queries})",
            )
            rows.append(replace(measured, met=queries <= MAX_QUERIES and sample.p50_ms <= MAX_P50_MS))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__))
