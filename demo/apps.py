from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (``seed_demo``): above every domain app, since it fills all of them; no models of its own."""

    name = "demo"
    verbose_name = "Demo data"
