from __future__ import annotations

from django.apps import AppConfig


class PartitionsConfig(AppConfig):
    """Monthly range partitions: the registry, their creation and maintenance, and their health check."""

    name = "growthcompass.partitions"
    label = "partitions"
    verbose_name = "Table partitions"

    def ready(self) -> None:
        from growthcompass.partitions import discover_partitioned_tables

        discover_partitioned_tables()
