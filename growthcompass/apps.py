from __future__ import annotations

from django.apps import AppConfig


class GrowthCompassConfig(AppConfig):
    """Installed as an app so shared infrastructure can ship management commands."""

    name = "growthcompass"
    verbose_name = "Growth Compass infrastructure"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        from growthcompass.db import monitoring, pooler
        from growthcompass.db.tables import discover_tables
        from growthcompass.health import discover_checks

        # Apps register what they own from their own modules (health.py, query_api.py).
        discover_checks()
        discover_tables()

        # What in DATABASES would break behind a transaction pooler (DATABASE_POOLER).
        checks.register(pooler.check_pooler_compatibility)

        if settings.QUERY_TRACKING:
            monitoring.install()

        from growthcompass.db import sqlcomment

        if sqlcomment.enabled():
            sqlcomment.install()
