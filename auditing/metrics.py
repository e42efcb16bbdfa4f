"""Scrape-time metric of the audit volume: rows the triggers wrote per audited table, recently.

A gauge over a window (``METRICS_AUDIT_WINDOW_S``, 5 minutes by default)
rather than a counter of every row ever written: it is read from
``audit_log`` itself, so every worker reports the same number, and the
``(table_name, changed_at)`` index answers it without reading the log.
The tables are the audited ones (``auditing.registry``), so the label set is
bounded by the registrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from auditing.models import AuditLog
from auditing.registry import audited_tables
from growthcompass.metrics import GaugeMetricFamily, register_collector
from growthcompass.metrics.config import audit_window_s

__all__ = ["audit_volume_metrics"]


@register_collector("audit_volume")
def audit_volume_metrics() -> Iterator[GaugeMetricFamily]:
    window = audit_window_s()
    tables = sorted(audited_tables())
    since = timezone.now() - timedelta(seconds=window)
    counts = dict(
        AuditLog.objects.filter(table_name__in=tables, changed_at__gte=since)
        .order_by()
        .values_list("table_name")
        .annotate(rows=Count("id"))
    )
    recent = GaugeMetricFamily(
        "gc_audit_rows_recent",
        f"Audit rows written in the last {window} s (METRICS_AUDIT_WINDOW_S), by audited table.",
        labels=["table"],
    )
    for table in tables:
        recent.add_metric([table], float(counts.get(table, 0)))
    yield recent
    window_gauge = GaugeMetricFamily("gc_audit_window_seconds", "The window of gc_audit_rows_recent, in seconds.")
    window_gauge.add_metric([], float(window))
    yield window_gauge
