"""The benchmark-only app holding django-pghistory's event model for ``attendances``."""

from __future__ import annotations

from django.apps import AppConfig


class PghistoryTrackerConfig(AppConfig):
    name = "benchmarks.pghistory_tracker"
    label = "pghistory_tracker"
    default_auto_field = "django.db.models.BigAutoField"
