"""The Grafana dashboard and the alert rules use only metric names /metrics exports."""

from __future__ import annotations

from django.test import Client

from tests.metrics.conftest import family_names, scrape_text
from tests.metrics.deploy_files import alert_expressions_text, dashboard, dashboard_expressions, metric_names


def _exported(client: Client) -> set[str]:
    return family_names(scrape_text(client))


def test_every_metric_the_dashboard_uses_is_exported(staff_client: Client) -> None:
    used = metric_names("\n".join(dashboard_expressions()))
    assert len(used) >= 25, f"the dashboard's expressions were not found: {sorted(used)}"

    missing = used - _exported(staff_client)

    assert not missing, f"the dashboard uses series /metrics does not export: {sorted(missing)}"


def test_every_metric_the_alert_rules_use_is_exported(staff_client: Client) -> None:
    used = metric_names(alert_expressions_text())
    assert {"gc_redis_up", "gc_db_slow_queries_total", "gc_view_age_seconds"} <= used

    missing = used - _exported(staff_client)

    assert not missing, f"the alert rules use series /metrics does not export: {sorted(missing)}"


def test_the_dashboard_has_a_panel_for_each_subject_the_operations_team_watches() -> None:
    titles = " | ".join(panel["title"].lower() for panel in dashboard()["panels"])

    for subject in (
        "request rate",
        "latency",
        "slowest statements",
        "pool saturation",
        "cache hit rate",
        "view age",
        "replica lag",
        "audit volume",
    ):
        assert subject in titles, f"no panel for {subject}: {titles}"


def test_every_dashboard_panel_uses_the_datasource_variable() -> None:
    panels = [panel for panel in dashboard()["panels"] if panel["type"] != "row"]

    assert panels
    assert all(panel["datasource"]["uid"] == "${datasource}" for panel in panels)
