from __future__ import annotations

from django.apps import AppConfig


class GrowthCompassConfig(AppConfig):
    """Installed as an app so shared infrastructure can ship management commands."""

    name = "growthcompass"
    verbose_name = "Growth Compass infrastructure"
