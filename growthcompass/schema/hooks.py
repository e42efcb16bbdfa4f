"""Receivers connected in ``SchemaConfig.ready()`` for every migrate run.

They are connected with the schema app as sender, so they run once per
``migrate`` (Django sends the signals once per app with models).
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from growthcompass.schema.services import checksums_sync
from growthcompass.schema.timeouts import apply_migration_timeouts, reset_migration_timeouts


def before_migrate(*, using: str, **kwargs: Any) -> None:
    apply_migration_timeouts(connections[using])


def after_migrate(*, using: str, plan: list[Any] | None = None, **kwargs: Any) -> None:
    reset_migration_timeouts(connections[using])
    # ``flush`` also sends post_migrate, without a plan: nothing was migrated, and
    # skipping it keeps every transactional test's teardown free of this work.
    if plan is not None:
        checksums_sync(using=using, plan=plan)
