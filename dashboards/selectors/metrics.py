"""Dashboard reads of ``student_metrics_mv``: as fresh as the view's last refresh.

* ``student_metrics`` -- one student's row through the cache (the
  ``student_metrics`` family): what a page that shows one student calls.
* ``students_metrics`` -- the rows of many students through the cache (a roster).
* ``student_metrics_get`` -- the same row straight from PostgreSQL as a model
  instance, for callers that need the model (the admin, the benchmark's
  baseline) or must not touch Redis.
* ``student_metrics_lowest_attendance`` -- the ranked list.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.db import connections
from django.db.models import QuerySet

from dashboards.cache import METRICS_FAMILY, StudentMetricsSummary
from dashboards.models import StudentMetrics
from growthcompass.cache import get_store

__all__ = [
    "StudentMetricsSummary",
    "student_metrics",
    "student_metrics_get",
    "student_metrics_lowest_attendance",
    "students_metrics",
]


def student_metrics(student_id: int) -> StudentMetricsSummary | None:
    """The student's row of ``student_metrics_mv`` (None before the view's first refresh that includes them)."""
    return get_store().get(METRICS_FAMILY, student_id)


def students_metrics(student_ids: Iterable[int]) -> dict[int, StudentMetricsSummary]:
    """The ``student_metrics_mv`` rows among ``student_ids``: cached ones in one round trip, the rest in one query."""
    return get_store().get_many(METRICS_FAMILY, student_ids)


@functools.cache
def _point_read(using: str) -> tuple[str, tuple[str, ...]] | None:
    """The ORM's SQL for one ``StudentMetrics`` row by id, compiled once per alias.

    ``None`` if any column needs a converter on the way out of the database
    (none does today on PostgreSQL), in which case reads take the queryset path.
    """
    attnames = tuple(field.attname for field in StudentMetrics._meta.concrete_fields)
    query = StudentMetrics.objects.filter(pk=0).order_by().values_list(*attnames).query
    compiler = query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    if list(params) != [0] or compiler.get_converters([column for column, _, _ in compiler.select]):
        return None
    return sql, attnames


def student_metrics_get(*, student_id: int, using: str = "default") -> StudentMetrics | None:
    """One student's metrics as of the last refresh (``None`` for a student added since).

    The dashboards' hottest read. Building and compiling a queryset costs
    several times the query itself here (a single-row index lookup), so the
    SQL is compiled by the ORM once and each read only executes it -- through
    Django's cursor (error handling, query tracking) -- and builds the
    instance with ``Model.from_db``, as the ORM does.
    """
    compiled = _point_read(using)
    if compiled is None:
        return StudentMetrics.objects.using(using).filter(pk=student_id).first()
    sql, attnames = compiled
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [student_id])
        row = cursor.fetchone()
    return None if row is None else StudentMetrics.from_db(using, list(attnames), row)


def student_metrics_lowest_attendance(*, grade: int | None = None, limit: int = 50) -> QuerySet[StudentMetrics]:
    """The ``limit`` students with the lowest known attendance rate, optionally within one grade."""
    metrics = StudentMetrics.objects.all()
    if grade is not None:
        metrics = metrics.in_grade(grade)
    return metrics.lowest_attendance_first()[:limit]
