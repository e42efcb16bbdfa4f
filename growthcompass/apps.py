from __future__ import annotations

from django.apps import AppConfig


class GrowthCompassConfig(AppConfig):
    """Installed as an app so shared infrastructure can ship management commands."""

    name = "growthcompass"
    verbose_name = "Growth Compass infrastructure"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks
        from django.db.backends.signals import connection_created

        from growthcompass.db import monitoring, pooler
        from growthcompass.db.tables import discover_tables
        from growthcompass.health import discover_checks

        # Apps register what they own from their own modules (health.py, query_api.py).
        discover_checks()
        discover_tables()

        # Behind a transaction pooler: statement_timeout per transaction instead of at connect.
        connection_created.connect(pooler.install_pooler_wrapper, dispatch_uid="growthcompass.db.pooler")
        checks.register(pooler.check_pooler_compatibility)

        if settings.QUERY_TRACKING:
            monitoring.install()

        from growthcompass.db import sqlcomment

        if sqlcomment.enabled():
            sqlcomment.install()
