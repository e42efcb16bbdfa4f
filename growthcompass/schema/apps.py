from __future__ import annotations

from django.apps import AppConfig


class SchemaConfig(AppConfig):
    name = "growthcompass.schema"
    label = "schema"
    verbose_name = "Schema migrations"
