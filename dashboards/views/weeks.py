"""Weeks of a term, as the weekly charts plot them (Monday-based, as PostgreSQL's ``date_trunc('week')``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from dashboards.charts import Series, line_chart
from dashboards.charts.svg import Chart
from dashboards.selectors.school import WeekAttendance

__all__ = ["term_weeks", "weekly_rate_chart"]


def term_weeks(starts_on: dt.date, ends_on: dt.date, today: dt.date) -> list[dt.date]:
    """The Mondays of the weeks from ``starts_on`` to ``ends_on``, stopping at ``today``'s week."""
    last = min(ends_on, today)
    week = starts_on - dt.timedelta(days=starts_on.weekday())
    weeks = []
    while week <= last:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return weeks


def weekly_rate_chart(
    *, chart_id: str, title: str, weeks: Sequence[dt.date], rows: Sequence[WeekAttendance], label: str
) -> Chart:
    """The attendance rate of each week in ``weeks`` (a week without records plots nothing)."""
    by_week = {row.week_start: row.rate for row in rows}
    rates = [rate for rate in by_week.values() if rate is not None]
    # A rate near 95 % on a 0-100 axis is a flat line: start the axis at the tens below the lowest week.
    y_min = max(0, int((min(rates, default=0) - 5) // 10) * 10)
    return line_chart(
        chart_id=chart_id,
        title=title,
        x_labels=[f"{week:%d %b}" for week in weeks],
        series=[Series(label, "gc-series-0", [by_week.get(week) for week in weeks])],
        y_min=y_min,
        y_max=100,
        y_suffix="%",
    )
