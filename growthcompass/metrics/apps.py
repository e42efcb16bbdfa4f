from __future__ import annotations

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """The Prometheus exporter: instruments, scrape-time collectors, ``/metrics``."""

    name = "growthcompass.metrics"
    label = "gc_metrics"
    verbose_name = "Prometheus metrics"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from growthcompass.metrics import config, queries, system  # noqa: F401 - system registers its collectors

        # Apps register their scrape-time collectors from their own metrics.py.
        autodiscover_modules("metrics")
        if config.enabled():
            queries.install()
