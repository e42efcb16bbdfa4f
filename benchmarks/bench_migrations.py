"""What migration management costs: the ``migrations`` health check, status, and the post-migrate hook.

Baselines are measured in the same run: the plan Django computes for
``migrate --check`` (loading the graph and the applied history), and a no-op
``migrate`` with the checksum hook disconnected.

    python benchmarks/bench_migrations.py [--scale small|default]   # or: make bench
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.timing import Row

RUNS = {"small": 10, "default": 30, "large": 60}


def run(scale: str) -> list[Row]:
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models.signals import post_migrate

    from benchmarks.timing import measure, row
    from growthcompass.schema.apps import SchemaConfig
    from growthcompass.schema.hooks import after_migrate
    from growthcompass.schema.selectors import migration_status_list
    from growthcompass.schema.validation import migrations_validate

    runs = RUNS.get(scale, RUNS["default"])
    warmup = max(2, runs // 10)

    def migrate_check() -> None:
        executor = MigrationExecutor(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []

    def validate() -> None:
        assert migrations_validate().ok

    def migrate_noop() -> None:
        call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())

    baseline = measure(migrate_check, runs=runs, warmup=warmup)
    validate_sample = measure(validate, runs=runs, warmup=warmup)
    status_sample = measure(lambda: migration_status_list(), runs=runs, warmup=warmup)
    with_hook = measure(migrate_noop, runs=runs, warmup=warmup)
    uid = "growthcompass.schema.after_migrate"
    config = apps.get_app_config("schema")
    assert isinstance(config, SchemaConfig)
    assert post_migrate.disconnect(sender=config, dispatch_uid=uid), "the checksum hook was connected"
    try:
        without_hook = measure(migrate_noop, runs=runs, warmup=warmup)
    finally:
        post_migrate.connect(after_migrate, sender=config, dispatch_uid=uid)

    name = "migrations"
    return [
        row(
            name,
            "migrations health check (migrate_validate)",
            validate_sample,
            baseline="migrate --check plan",
            baseline_sample=baseline,
            target="<= 10x migrate --check",
            max_ratio=10.0,
        ),
        row(
            name,
            "migrate_status (checksums of every project file)",
            status_sample,
            baseline="migrate --check plan",
            baseline_sample=baseline,
            target="<= 5x migrate --check",
            max_ratio=5.0,
        ),
        row(
            name,
            "no-op migrate with the checksum hook",
            with_hook,
            baseline="no-op migrate without it",
            baseline_sample=without_hook,
            target="<= 1.5x",
            max_ratio=1.5,
        ),
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.standalone import main

    raise SystemExit(main(run, __doc__, needs_dataset=False))
