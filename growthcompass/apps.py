from __future__ import annotations

from django.apps import AppConfig


class GrowthCompassConfig(AppConfig):
    """Installed as an app so shared infrastructure can ship management commands."""

    name = "growthcompass"
    verbose_name = "Growth Compass infrastructure"

    def ready(self) -> None:
        from django.conf import settings

        from growthcompass.db import monitoring
        from growthcompass.health import database, matviews  # noqa: F401 - registers their health checks

        if settings.QUERY_TRACKING:
            monitoring.install()
