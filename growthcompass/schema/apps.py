"""Migration management: checksums of applied migrations and the migrate_* commands."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class SchemaConfig(AppConfig):
    name = "growthcompass.schema"
    label = "schema"
    verbose_name = "Schema migrations"

    def ready(self) -> None:
        from growthcompass.schema.hooks import after_migrate, before_migrate

        pre_migrate.connect(before_migrate, sender=self, dispatch_uid="growthcompass.schema.before_migrate")
        post_migrate.connect(after_migrate, sender=self, dispatch_uid="growthcompass.schema.after_migrate")
