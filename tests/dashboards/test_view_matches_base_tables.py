"""The view's numbers equal the same metrics computed independently from the base tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dashboards.live import student_metrics_live
from dashboards.models import StudentMetrics
from dashboards.refresh import materialized_view_refresh
from students.models import Student
from tests.dashboards.school import METRIC_COLUMNS, build_school, expected_metrics
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _view_rows() -> dict[int, dict[str, Any]]:
    return {row["student_id"]: row for row in StudentMetrics.objects.values("student_id", *METRIC_COLUMNS)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_view_equals_orm_aggregates_on_generated_data(seed: int) -> None:
    school = build_school(seed)
    materialized_view_refresh()

    rows = _view_rows()
    assert set(rows) == {s.pk for s in Student.objects.all()}
    for student in school.students:
        expected = expected_metrics(student, school.today)
        actual = {column: rows[student.pk][column] for column in METRIC_COLUMNS}
        assert actual == expected, student


def test_edge_cases_have_the_documented_values() -> None:
    school = build_school(7, students=0)
    materialized_view_refresh()
    rows = _view_rows()

    nothing = rows[school.edge["no_sessions"].pk]
    assert nothing["sessions_scheduled"] == 0
    assert nothing["attendance_rate"] is None
    assert nothing["feedback_count"] == 0 and nothing["avg_score"] is None
    assert nothing["name"] == school.edge["no_sessions"].user.username

    excused = rows[school.edge["all_excused"].pk]
    assert excused["excused_count"] == excused["sessions_scheduled"] > 0
    assert excused["attendance_rate"] is None  # excused counts in neither numerator nor denominator

    dropped = rows[school.edge["dropped"].pk]
    assert dropped["active_enrollments"] == 0
    assert 0 < dropped["sessions_scheduled"] == dropped["present_count"]
    assert dropped["attendance_rate"] == Decimal("100.00")

    cancelled = rows[school.edge["cancelled"].pk]
    assert (cancelled["present_count"], cancelled["late_count"], cancelled["absent_count"]) == (0, 2, 0)

    feedback_only = rows[school.edge["feedback_only"].pk]
    assert feedback_only["feedback_count"] == 3
    assert feedback_only["avg_homework"] == Decimal("3.50")
    assert feedback_only["avg_behaviour"] == Decimal("4.00")
    assert feedback_only["avg_participation"] is None
    assert feedback_only["avg_score"] == Decimal("3.67")  # (2 + 5 + 4) / 3 scores


def test_live_aggregate_equals_the_view() -> None:
    school = build_school(11)
    materialized_view_refresh()
    rows = _view_rows()

    live = student_metrics_live(today=school.today)
    assert live.count() == len(rows)
    for student in live:
        actual = {column: getattr(student, column, None) for column in METRIC_COLUMNS}
        actual["name"] = student.full_name
        expected = {column: rows[student.pk][column] for column in METRIC_COLUMNS}
        assert actual == expected, student


def test_the_view_serves_the_last_refresh_until_refreshed_again() -> None:
    build_school(5, students=2)
    materialized_view_refresh()
    before = StudentMetrics.objects.count()

    added = StudentFactory.create()
    assert StudentMetrics.objects.count() == before
    assert not StudentMetrics.objects.filter(pk=added.pk).exists()

    materialized_view_refresh()
    assert StudentMetrics.objects.filter(pk=added.pk).exists()
