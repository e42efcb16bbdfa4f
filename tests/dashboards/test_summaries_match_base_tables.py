"""The dashboard's two summaries equal the same numbers computed independently from the base tables.

The oracle is the ORM and plain Python over generated schools with the metrics'
edge cases (cancelled and future sessions, excused records, partial scores),
sharing no code with the views' SQL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.utils import timezone

from attendance.models import Attendance
from dashboards.models import ATTENDANCE_WEEKLY_VIEW, FEEDBACK_TREND_VIEW
from dashboards.refresh import materialized_view_refresh
from feedback.models import ParsedStudentFeedback
from tests.dashboards.school import build_school
from tests.factories import FeedbackFactory

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")


def _rows(query: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def _expected_weekly(today: dt.date) -> dict[tuple[object, ...], tuple[int, int, int, int]]:
    counts: dict[tuple[object, ...], Counter[str]] = defaultdict(Counter)
    records = Attendance.objects.filter(session__is_cancelled=False, session__session_date__lte=today).values_list(
        "session__course__term_id", "session__session_date", "student__grade_level", "status"
    )
    for term_id, day, grade, status in records:
        counts[(term_id, day - dt.timedelta(days=day.weekday()), grade)][status] += 1
    return {key: (c["present"], c["late"], c["absent"], c["excused"]) for key, c in counts.items()}


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _expected_trend() -> dict[int, tuple[Decimal, int, Decimal, int, Decimal]]:
    by_student: dict[int, list[Decimal | None]] = defaultdict(list)
    entries = ParsedStudentFeedback.objects.order_by("student_id", "-parsed_at", "-id").values_list(
        "student_id", "scores"
    )
    for student_id, scores in entries:  # newest first; an entry without scores has no mean
        by_student[student_id].append(_mean([Decimal(v) for v in scores.values()]) if scores else None)
    expected = {}
    for student_id, means in by_student.items():
        recent = [m for m in means[:3] if m is not None]
        earlier = [m for m in means[3:] if m is not None]
        if recent and earlier:
            r, e = _mean(recent), _mean(earlier)
            expected[student_id] = (
                r.quantize(CENT, ROUND_HALF_UP),
                len(recent),
                e.quantize(CENT, ROUND_HALF_UP),
                len(earlier),
                (r - e).quantize(CENT, ROUND_HALF_UP),
            )
    return expected


@pytest.mark.parametrize("seed", [11, 12])
def test_summaries_equal_the_base_tables(seed: int) -> None:
    school = build_school(seed, students=20)
    # Enough feedback for two students to have "earlier" entries: one falling, one rising (one entry unscored).
    now = timezone.now()
    for student, scores in ((school.students[0], [5, 5, 4, 2, 1]), (school.students[1], [1, 2, 3, 0, 5])):
        for days_ago, score in zip((50, 40, 30, 20, 10), scores, strict=True):
            FeedbackFactory.create(
                student=student,
                scores={"homework": score, "progress": 3} if score else {},
                parsed_at=now - dt.timedelta(days=days_ago),
            )
    for view in (ATTENDANCE_WEEKLY_VIEW, FEEDBACK_TREND_VIEW):
        materialized_view_refresh(view=view)

    weekly = {
        (row[0], row[1], row[2]): tuple(row[3:])
        for row in _rows(
            "SELECT term_id, week_start, grade_level, present_count, late_count, absent_count, excused_count "
            "FROM attendance_weekly_mv"
        )
    }
    assert weekly and weekly == _expected_weekly(school.today)

    trend = {
        row[0]: tuple(row[1:])
        for row in _rows(
            "SELECT id, recent_avg, recent_count, earlier_avg, earlier_count, score_change FROM feedback_trend_mv"
        )
    }
    assert len(trend) >= 2 and trend == _expected_trend()
