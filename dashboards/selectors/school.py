"""The school overview's reads: each one a single query over a materialized view.

``student_metrics_mv`` (one row per student), ``attendance_weekly_mv`` (one row
per term, week and grade) and ``feedback_trend_mv`` (one row per student with
enough feedback) are small; the at-risk lists walk their indexes with a LIMIT
and count the whole list in the same statement (``count(*) OVER ()``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connections

from courses.models import Term

__all__ = [
    "RATE_BANDS",
    "AtRiskStudent",
    "FallingStudent",
    "GradeDistribution",
    "TermChoice",
    "WeekAttendance",
    "at_risk_falling_scores",
    "at_risk_lowest_attendance",
    "attendance_distribution_by_grade",
    "attendance_weekly",
    "term_current",
    "terms_all",
]

# Attendance-rate bands of the distribution chart: (label, lowest included, highest excluded);
# the same bounds are written out in _DISTRIBUTION below.
RATE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("under 70%", 0, 70),
    ("70-80%", 70, 80),
    ("80-90%", 80, 90),
    ("90-95%", 90, 95),
    ("95% and over", 95, 101),
)


class TermChoice(NamedTuple):
    id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date


class GradeDistribution(NamedTuple):
    """Active students of one grade per attendance band (``RATE_BANDS`` order), and those with no rate yet."""

    grade_level: int
    bands: tuple[int, ...]
    unknown: int

    @property
    def total(self) -> int:
        return sum(self.bands) + self.unknown


class WeekAttendance(NamedTuple):
    week_start: dt.date
    present: int
    late: int
    absent: int
    excused: int

    @property
    def rate(self) -> float | None:
        """Percent attended, counted as ``student_metrics_mv`` counts it (excused in neither part)."""
        counted = self.present + self.late + self.absent
        return None if counted == 0 else 100.0 * (self.present + self.late) / counted


class AtRiskStudent(NamedTuple):
    student_id: int
    student_number: str
    name: str
    grade_level: int
    attendance_rate: Decimal
    absent_count: int


class FallingStudent(NamedTuple):
    student_id: int
    student_number: str
    name: str
    grade_level: int
    earlier_avg: Decimal
    recent_avg: Decimal
    score_change: Decimal


def terms_all() -> tuple[TermChoice, ...]:
    """Every term, latest first (a school has a handful)."""
    return tuple(
        TermChoice(*row)
        for row in Term.objects.order_by("-starts_on").values_list("id", "name", "starts_on", "ends_on")
    )


def term_current(terms: tuple[TermChoice, ...], today: dt.date) -> TermChoice | None:
    """The term running on ``today``; between terms, the latest one already started; else the first one."""
    running = [t for t in terms if t.starts_on <= today <= t.ends_on]
    if running:
        return running[0]
    started = [t for t in terms if t.starts_on <= today]
    if started:
        return max(started, key=lambda t: t.starts_on)
    return terms[-1] if terms else None


# Each query comes in two fixed texts, every grade or one grade, rather than an
# optional clause formatted in: the one-grade form keeps the grade-leading indexes usable.
_DISTRIBUTION = """
    SELECT grade_level,
           count(*) FILTER (WHERE attendance_rate < 70),
           count(*) FILTER (WHERE attendance_rate >= 70 AND attendance_rate < 80),
           count(*) FILTER (WHERE attendance_rate >= 80 AND attendance_rate < 90),
           count(*) FILTER (WHERE attendance_rate >= 90 AND attendance_rate < 95),
           count(*) FILTER (WHERE attendance_rate >= 95),
           count(*) FILTER (WHERE attendance_rate IS NULL)
      FROM student_metrics_mv
     WHERE status = 'active' {grade}
     GROUP BY grade_level ORDER BY grade_level
"""
_WEEKLY = """
    SELECT week_start, sum(present_count), sum(late_count), sum(absent_count), sum(excused_count)
      FROM attendance_weekly_mv
     WHERE term_id = %s {grade}
     GROUP BY week_start ORDER BY week_start
"""
_LOWEST = """
    SELECT id, student_number, name, grade_level, attendance_rate, absent_count, count(*) OVER ()
      FROM student_metrics_mv
     WHERE status = 'active' AND attendance_rate < %s {grade}
     ORDER BY attendance_rate, id LIMIT %s
"""
_FALLING = """
    SELECT t.id, m.student_number, m.name, t.grade_level, t.earlier_avg, t.recent_avg, t.score_change,
           count(*) OVER ()
      FROM feedback_trend_mv t JOIN student_metrics_mv m ON m.id = t.id
     WHERE t.score_change < 0 AND m.status = 'active' {grade}
     ORDER BY t.score_change, t.id LIMIT %s
"""


def _sql(template: str, column: str, grade: int | None) -> tuple[str, list[Any]]:
    """``template`` for every grade, or restricted to ``grade`` on ``column`` (a literal of this module)."""
    if grade is None:
        return template.replace("{grade}", ""), []
    return template.replace("{grade}", f"AND {column} = %s"), [grade]


def _fetch(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connections["default"].cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def attendance_distribution_by_grade(*, grade: int | None = None) -> list[GradeDistribution]:
    """Active students per grade and attendance band (``RATE_BANDS``), from ``student_metrics_mv`` (one small scan)."""
    query, params = _sql(_DISTRIBUTION, "grade_level", grade)
    return [GradeDistribution(row[0], tuple(row[1:-1]), row[-1]) for row in _fetch(query, params)]


def attendance_weekly(*, term_id: int, grade: int | None = None) -> list[WeekAttendance]:
    """The term's attendance week by week (weeks start on Monday), from ``attendance_weekly_mv``."""
    query, params = _sql(_WEEKLY, "grade_level", grade)
    rows = _fetch(query, [term_id, *params])
    return [WeekAttendance(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows]


def at_risk_lowest_attendance(
    *, grade: int | None = None, below: int = 80, limit: int = 10
) -> tuple[list[AtRiskStudent], int]:
    """The ``limit`` active students with the lowest attendance under ``below`` percent, and how many there are."""
    query, params = _sql(_LOWEST, "grade_level", grade)
    rows = _fetch(query, [below, *params, limit])
    return [AtRiskStudent(*row[:-1]) for row in rows], (rows[0][-1] if rows else 0)


def at_risk_falling_scores(*, grade: int | None = None, limit: int = 10) -> tuple[list[FallingStudent], int]:
    """Active students whose latest feedback scores fell the most below their earlier ones, and how many fell."""
    query, params = _sql(_FALLING, "t.grade_level", grade)
    rows = _fetch(query, [*params, limit])
    return [FallingStudent(*row[:-1]) for row in rows], (rows[0][-1] if rows else 0)
