"""The audit benchmark's django-pghistory variant, in a process of its own.

django-pghistory must be an installed app to define its event model, and the
project's settings never install it; ``bench_audit`` runs this module with
``DJANGO_SETTINGS_MODULE=benchmarks.pghistory_tracker.settings`` against the
same bench database, one round at a time, interleaved with its own variants:

    python -m benchmarks.pghistory_tracker setup
    python -m benchmarks.pghistory_tracker round FIXTURE_JSON STATEMENTS   # prints the sample as JSON
    python -m benchmarks.pghistory_tracker teardown

``setup`` migrates pghistory's own app, creates the event table and installs
its triggers *disabled*; a round enables them (and disables the audit
triggers) only while it times, exactly as ``bench_audit`` does for its own
variants; ``teardown`` removes all of it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.pghistory_tracker.settings"
    import django

    django.setup()


def _tracker_triggers() -> list[object]:
    from attendance.models import Attendance

    return [t for t in Attendance._meta.triggers if t.name.startswith("pgh_")]  # type: ignore[attr-defined]


def setup() -> None:
    from django.core.management import call_command
    from django.db import connection

    from attendance.models import Attendance
    from benchmarks.audit_workload import set_triggers
    from benchmarks.pghistory_tracker.models import AttendanceEvent

    call_command("migrate", "pghistory", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [AttendanceEvent._meta.db_table])
        exists = cursor.fetchone()[0] is not None
    if not exists:
        with connection.schema_editor() as editor:
            editor.create_model(AttendanceEvent)
    triggers = _tracker_triggers()
    if not triggers:
        raise RuntimeError("django-pghistory registered no pgh_ trigger on Attendance")
    for trigger in triggers:
        trigger.install(Attendance)  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        set_triggers(cursor, audit=True, tracker=False)


def measure(fixture_json: str, statements: int) -> dict[str, float]:
    from django.db import connection

    from benchmarks.audit_workload import Fixture, entries_per_round, measure_round
    from benchmarks.pghistory_tracker.models import AttendanceEvent

    fixture = Fixture(**json.loads(fixture_json))
    before = AttendanceEvent.objects.count()
    sample = measure_round(fixture, statements, audit=False, tracker=True)
    written = AttendanceEvent.objects.count() - before
    expected = entries_per_round(fixture, statements)
    if written != expected:
        raise RuntimeError(f"pghistory: {written} events written, expected {expected}")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {AttendanceEvent._meta.db_table}")
    return sample


def teardown() -> None:
    from django.core.management import call_command
    from django.db import connection

    from attendance.models import Attendance
    from benchmarks.pghistory_tracker.models import AttendanceEvent

    for trigger in _tracker_triggers():
        trigger.uninstall(Attendance)  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {AttendanceEvent._meta.db_table}")
    call_command("migrate", "pghistory", "zero", verbosity=0, interactive=False)


def main(argv: list[str]) -> int:
    _setup_django()
    command = argv[0] if argv else ""
    if command == "setup":
        setup()
    elif command == "round" and len(argv) == 3:
        print(json.dumps(measure(argv[1], int(argv[2]))))
    elif command == "teardown":
        teardown()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
