"""The metrics-export benchmark's pure parts: the traffic mix covers every route, the series count reads a scrape."""

from __future__ import annotations

from django.contrib import admin

from benchmarks.bench_metrics_export import _series_count, _traffic_urls
from growthcompass.db.tables import exposed_tables


def test_the_traffic_mix_visits_every_admin_model_and_every_api_table(db: None) -> None:
    urls = _traffic_urls()

    for model in admin.site._registry:
        opts = model._meta
        assert f"/admin/{opts.app_label}/{opts.model_name}/" in urls, model
    for table in exposed_tables():
        assert f"/api/{table}/?limit=5" in urls
    assert "/metrics" in urls


def test_the_series_count_skips_comments_and_blank_lines() -> None:
    body = b"# HELP a x\n# TYPE a counter\na_total 1.0\nb{l=\"1\"} 2.0\n\n"

    assert _series_count(body) == 2
