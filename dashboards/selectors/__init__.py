"""Dashboard reads: the metrics view's rows, and what each dashboard page shows.

* ``metrics`` -- ``student_metrics_mv`` rows (cached, and straight from PostgreSQL).
* ``school`` -- the school overview: grade distribution, weekly attendance, at-risk lists.
* ``student_page`` / ``course_page`` -- one student's or one course's bounded, indexed reads.
* ``operations`` -- what the operations page shows (health, cache, statements, refreshes).

Every read is bounded: a materialized view, a cached selector, or an indexed
query over one student's or one course's rows -- never an aggregate over all
attendance.
"""

from __future__ import annotations

from dashboards.selectors.metrics import (
    StudentMetricsSummary,
    student_metrics,
    student_metrics_get,
    student_metrics_lowest_attendance,
    students_metrics,
)

__all__ = [
    "StudentMetricsSummary",
    "student_metrics",
    "student_metrics_get",
    "student_metrics_lowest_attendance",
    "students_metrics",
]
