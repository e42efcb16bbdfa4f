"""The ``student_metrics`` cache family: one student's row of ``student_metrics_mv``.

The view changes only when it is refreshed, and every refresh is recorded in
``view_refreshes``: a successful refresh of the view invalidates the whole
family (the trigger is generated from the declaration below and migrates with
this app).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS

from dashboards.models import STUDENT_METRICS_VIEW, StudentMetrics, ViewRefresh
from growthcompass.cache import Family, RowCodec, WrittenBy, derived_table, register

__all__ = ["METRICS_FAMILY", "StudentMetricsSummary"]


class StudentMetricsSummary(NamedTuple):
    """One row of ``student_metrics_mv``: as fresh as the view's last refresh."""

    student_id: int
    student_number: str
    name: str
    grade_level: int
    status: str
    active_enrollments: int
    sessions_scheduled: int
    present_count: int
    late_count: int
    absent_count: int
    excused_count: int
    attendance_rate: Decimal | None
    last_attended_on: dt.date | None
    feedback_count: int
    last_feedback_at: dt.datetime | None
    avg_participation: Decimal | None
    avg_comprehension: Decimal | None
    avg_homework: Decimal | None
    avg_behaviour: Decimal | None
    avg_progress: Decimal | None
    avg_score: Decimal | None


_METRICS_COLUMNS = tuple(name for name in StudentMetricsSummary._fields if name != "student_id")


def _load_metrics(student_ids: Sequence[int]) -> dict[int, StudentMetricsSummary]:
    rows = (
        StudentMetrics.objects.using(DEFAULT_DB_ALIAS)
        .filter(student_id__in=student_ids)
        .order_by()
        .values_list("student_id", *_METRICS_COLUMNS)
    )
    return {row[0]: StudentMetricsSummary(*row) for row in rows}


METRICS_FAMILY: Family[StudentMetricsSummary] = register(
    Family("student_metrics", ttl_s=300, load_many=_load_metrics, codec=RowCodec(StudentMetricsSummary), local=True),
    written_by=[
        WrittenBy(
            ViewRefresh,
            whole_family=True,
            condition={"view_name": STUDENT_METRICS_VIEW, "succeeded": True},
        )
    ],
    keyed_by="student",
)


# Cached querysets that read the view depend on view_refreshes instead: REFRESH fires no trigger, but
# every refresh through dashboards.refresh writes a row there, after the refresh commits. A REFRESH
# run by hand, without that row, is not seen until the entries' TTL (docs/querysets.md).
derived_table(STUDENT_METRICS_VIEW, announced_by=(ViewRefresh._meta.db_table,))
