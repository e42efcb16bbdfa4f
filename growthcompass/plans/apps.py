from __future__ import annotations

from django.apps import AppConfig


class PlansConfig(AppConfig):
    """Plans of slow statements, captured off the request's path."""

    name = "growthcompass.plans"
    label = "gc_plans"
    verbose_name = "Query plans"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from growthcompass.metrics.queries import on_slow_statement
        from growthcompass.plans import capture

        on_slow_statement(capture.offer)
