"""Time each step of partitioning ``attendances`` (attendance 0006, 0007) on the database it is pointed at.

Not a ratio benchmark: it reports how long each step takes and, above all, how
long the one step that blocks writers (0007's swap transaction, which holds
``ACCESS EXCLUSIVE`` on ``attendances``) holds its lock, to compare with
``MIGRATION_LOCK_TIMEOUT_MS``. It migrates the database back to attendance 0005
(the heap, as before the partitioning) and forwards again, so it runs only on a
development database holding demo data, and only when asked to:

    python manage.py seed_demo --students 10000 --reset     # about 940,000 attendance rows
    python benchmarks/time_attendance_conversion.py --migrate-my-database
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any


def _scalar(query: str) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query)
        row = cursor.fetchone()
    return row[0] if row else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrate-my-database", action="store_true", help="required: the run migrates back and forth")
    if not parser.parse_args().migrate_my_database:
        parser.error("this migrates the database back to attendance 0005 and forwards: pass --migrate-my-database")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    import growthcompass.partitions.views as views
    from growthcompass.schema.timeouts import apply_migration_timeouts

    if settings.DJANGO_ENV == "production":
        parser.error("refused in production (DJANGO_ENV=production)")
    rows = _scalar("SELECT count(*) FROM attendances")
    print(f"attendance rows: {rows:,}")
    started = time.perf_counter()
    call_command("migrate", "attendance", "0005", verbosity=0)
    print(f"back to 0005 (the heap): {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    call_command("migrate", "attendance", "0006", verbosity=0)
    print(f"0006 (column, key, batched backfill, validated checks): {time.perf_counter() - started:.2f} s")

    migration = importlib.import_module("attendance.migrations.0007_attendances_partitioned")
    apply_migration_timeouts(connection)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in migration.CREATE_KEYS_SQL:
            cursor.execute(statement)
    print(f"0007 step 1, unique indexes CONCURRENTLY: {time.perf_counter() - started:.2f} s")

    class SchemaEditor:
        pass

    editor: Any = SchemaEditor()
    editor.connection = connection
    started = time.perf_counter()
    migration.prove_legacy_range(None, editor)
    print(f"0007 step 2, CHECK NOT VALID + VALIDATE: {time.perf_counter() - started:.2f} s")

    marks: dict[str, float] = {}
    refresh = views.refresh_unpopulated

    def timed_refresh(cursor: Any, names: list[str]) -> list[str]:
        marks["committed"] = time.perf_counter()  # partition() refreshes right after its transaction
        refreshed = refresh(cursor, names)
        marks["refreshed"] = time.perf_counter()
        return refreshed

    views.refresh_unpopulated = timed_refresh  # type: ignore[assignment]
    started = time.perf_counter()
    migration.partition(None, editor)
    views.refresh_unpopulated = refresh
    print(
        f"0007 step 3, the swap (ACCESS EXCLUSIVE held): {(marks['committed'] - started) * 1000:.0f} ms"
        f" (MIGRATION_LOCK_TIMEOUT_MS = {settings.MIGRATION_LOCK_TIMEOUT_MS})"
    )
    print(f"0007 step 4, views refreshed after the commit: {marks['refreshed'] - marks['committed']:.2f} s")
    call_command("migrate", "attendance", "0007", fake=True, verbosity=0)
    rows, legacy = _scalar("SELECT count(*) FROM attendances"), _scalar("SELECT count(*) FROM attendances_legacy")
    print(f"attendance rows: {rows:,}, in the legacy partition: {legacy:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
