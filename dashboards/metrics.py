"""Scrape-time metrics of the materialized views: age, last refresh, failed refreshes.

Registered with ``growthcompass.metrics`` from here, as ``health.py`` registers
the view's health check: the exporter knows no view by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils import timezone

from dashboards.models import ViewRefresh
from dashboards.refresh import MATERIALIZED_VIEWS, view_last_refresh
from growthcompass.metrics import CounterMetricFamily, GaugeMetricFamily, register_collector

__all__ = ["materialized_view_metrics"]


@register_collector("materialized_views")
def materialized_view_metrics() -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    age = GaugeMetricFamily(
        "gc_view_age_seconds",
        "Seconds since the view's last successful refresh (absent when it was never refreshed).",
        labels=["view"],
    )
    duration = GaugeMetricFamily(
        "gc_view_last_refresh_duration_seconds", "How long the view's last successful refresh took.", labels=["view"]
    )
    rows = GaugeMetricFamily(
        "gc_view_last_refresh_rows", "Rows after the view's last successful refresh.", labels=["view"]
    )
    failed = CounterMetricFamily("gc_view_failed_refreshes", "Refreshes of the view that failed.", labels=["view"])
    now = timezone.now()
    failures = dict(
        ViewRefresh.objects.filter(view_name__in=list(MATERIALIZED_VIEWS))
        .values_list("view_name")
        .annotate(failed=Count("id", filter=Q(succeeded=False)))
    )
    for view in MATERIALIZED_VIEWS:
        failed.add_metric([view], float(failures.get(view, 0)))
        last = view_last_refresh(view)
        if last is None:
            continue
        age.add_metric([view], (now - last.finished_at).total_seconds())
        duration.add_metric([view], last.duration_ms / 1000.0)
        if last.row_count is not None:
            rows.add_metric([view], float(last.row_count))
    yield from (age, duration, rows, failed)
