"""Large tables' changelists are counted from the planner's estimate unless filtered."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attendance.models import Attendance
from growthcompass import admin_paging
from growthcompass.admin_paging import EstimatedCountPaginator, estimated_rows
from tests.factories import AttendanceFactory

# The schema is the subject here: migrations and ANALYZE run as the owner of the tables.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_as_owner")]


def analysed_attendances(rows: int) -> int:
    AttendanceFactory.create_batch(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE attendances")
    return estimated_rows("attendances")


def count_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"].upper()]


def test_a_large_unfiltered_table_is_counted_from_the_estimate_and_a_filtered_one_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    estimate = analysed_attendances(3)
    AttendanceFactory.create_batch(2)  # after ANALYZE: the estimate is now stale
    monkeypatch.setattr(admin_paging, "EXACT_COUNT_LIMIT", 0)

    assert EstimatedCountPaginator(Attendance.objects.order_by("-id"), 50).count == estimate == 3
    filtered = Attendance.objects.filter(status="present").order_by("-id")
    assert EstimatedCountPaginator(filtered, 50).count == filtered.count()


def test_a_small_table_is_counted_exactly() -> None:
    analysed_attendances(3)
    AttendanceFactory.create_batch(2)
    assert EstimatedCountPaginator(Attendance.objects.order_by("-id"), 50).count == 5


def test_a_table_without_statistics_has_no_estimate() -> None:
    assert estimated_rows("no_such_table") == -1


def test_the_attendance_changelist_runs_no_full_count_on_a_large_table(
    monkeypatch: pytest.MonkeyPatch, staff_client: Client
) -> None:
    analysed_attendances(4)
    monkeypatch.setattr(admin_paging, "EXACT_COUNT_LIMIT", 0)
    url = reverse("admin:attendance_attendance_changelist")

    with CaptureQueriesContext(connection) as unfiltered:
        assert staff_client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as filtered:
        assert staff_client.get(url, {"status__exact": "present"}).status_code == 200

    assert count_queries(unfiltered) == []
    assert len(count_queries(filtered)) == 1
