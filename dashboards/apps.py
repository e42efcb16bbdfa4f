from __future__ import annotations

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Read models that span the domain apps: ``student_metrics_mv``, its refresh, reads, admin and health check."""

    name = "dashboards"
    verbose_name = "Dashboards"
