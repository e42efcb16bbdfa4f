"""Tables range-partitioned by month, and the registry of them.

An app declares each of its partitioned tables in its own ``partitions.py``
(``register(PartitionedTable("audit_log", column="changed_at", ...))``), found
at start-up the way the admin finds ``admin.py``; the infrastructure keeps no
list of them. ``partitions_maintain`` creates the partitions ahead of time and
moves rows out of the DEFAULT partition into the partitions it creates
(``growthcompass.partitions.maintenance``); the ``partitions`` health check
reports a missing period, a non-empty DEFAULT partition or a gap. Every
partition, whoever asks for it (a migration, maintenance), is created by
``growthcompass.partitions.ddl.create_partition``: the one place that decides
what a new partition carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

__all__ = ["PartitionedTable", "discover_partitioned_tables", "get", "register", "registered_tables"]


def _keep_everything() -> int | None:
    return None


@dataclass(frozen=True)
class PartitionedTable:
    """A table range-partitioned by calendar month on ``column`` (a ``timestamptz`` or ``date``).

    ``retention_months`` returns how many whole months before the current one
    are kept (``None``: everything): maintenance never creates a partition
    older than that, so catching up after an outage does not build partitions
    that retention would drop at once. ``move_ignores`` names the pgtrigger
    triggers (``app.Model:name``) to ignore while maintenance moves rows out of
    the DEFAULT partition: moving a row between partitions is not a change of
    the data (for ``audit_log``, its append-only guard and prune record).
    """

    table: str
    column: str
    retention_months: Callable[[], int | None] = _keep_everything
    move_ignores: tuple[str, ...] = ()

    @property
    def default_partition(self) -> str:
        return f"{self.table}_default"

    def partition_name(self, month: dt.date) -> str:
        """``audit_log_p2026_12`` for the month starting ``month``."""
        return f"{self.table}_p{month.year:04d}_{month.month:02d}"


_REGISTRY: dict[str, PartitionedTable] = {}


def register(table: PartitionedTable) -> PartitionedTable:
    """Declare a partitioned table (from its app's ``partitions.py``); re-registering replaces it."""
    if len(table.partition_name(dt.date(2000, 1, 1))) > 63:
        raise ImproperlyConfigured(f"partition names of {table.table!r} would exceed PostgreSQL's 63 characters")
    _REGISTRY[table.table] = table
    return table


def registered_tables() -> list[PartitionedTable]:
    return list(_REGISTRY.values())


def get(table: str) -> PartitionedTable:
    """The registration of ``table``; ``KeyError`` naming the known ones when there is none."""
    try:
        return _REGISTRY[table]
    except KeyError:
        raise KeyError(f"{table!r} is not a registered partitioned table; known: {', '.join(_REGISTRY)}") from None


def discover_partitioned_tables() -> None:
    """Import every installed app's ``partitions`` module."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("partitions")
