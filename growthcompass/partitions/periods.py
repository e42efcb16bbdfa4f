"""Calendar months as partition periods: a month is named by its first day."""

from __future__ import annotations

import datetime as dt

from growthcompass.partitions.config import boundary_zone


def month_of(moment: dt.datetime | dt.date) -> dt.date:
    """The first day of the month holding ``moment`` (an aware datetime is read in ``TIME_ZONE``)."""
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(boundary_zone()).date()
    return moment.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_start(month: dt.date) -> dt.datetime:
    """Midnight of ``month``'s first day in ``TIME_ZONE``, as an aware datetime."""
    return dt.datetime.combine(month, dt.time.min, tzinfo=boundary_zone())


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from ``first`` to ``last``, both included."""
    result = []
    month = first
    while month <= last:
        result.append(month)
        month = add_months(month, 1)
    return result
