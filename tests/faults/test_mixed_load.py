"""A sustained mixed load from several processes: zero errors, and the p99 latencies reported.

Three worker processes (``tests/faults/load_worker.py``, each with its own
pool and cache store, as separate application servers would have) run
cached and uncached reads, safe-query reads, metrics reads, ORM writes,
attendance upserts and concurrent view refreshes against the test database
for a bounded time. Every exception and every wrong answer counts as an
error; there must be none, every operation must have run, and everything
the workers last wrote must be in the database afterwards. Latencies are
printed (p50, p99, max per operation), never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from attendance.models import Attendance, ClassSession
from benchmarks.timing import summarise
from dashboards.refresh import materialized_view_refresh
from demo.services import seed_demo
from students.models import Student
from tests.db.aliases import suite_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKERS = 3
DURATION_S = 20.0
DEMO_STUDENTS = 300
OWN_STUDENTS = 10  # per worker, written only by it
SESSIONS = 20  # sessions the workers record attendance at
OPERATIONS = {
    "read_cached_student",
    "read_own_student",
    "read_student_batch",
    "read_safe_query",
    "read_metrics",
    "write_grade",
    "write_attendance",
    "refresh_view",
}


def _worker_env(cache_prefix: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    env.update(
        DJANGO_SETTINGS_MODULE="growthcompass.settings",
        DJANGO_ENV="test",
        DATABASE_URL=suite_database_url(),  # the test database (a socket directory percent-encoded)
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=cache_prefix,
        DB_POOL_MAX_SIZE="5",
        LOG_LEVEL="WARNING",
    )
    return env


def _start_workers(
    tmp_path: Path, cache_prefix: str, student_ids: list[int], session_ids: list[int]
) -> list[subprocess.Popen[str]]:
    processes = []
    for index in range(WORKERS):
        plan = {
            "duration_s": DURATION_S,
            "refresh_every_s": 2.0,
            "seed": index,
            "all_student_ids": student_ids,
            "own_student_ids": student_ids[index * OWN_STUDENTS : (index + 1) * OWN_STUDENTS],
            "session_ids": session_ids,
        }
        plan_path = tmp_path / f"plan-{index}.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.faults.load_worker", str(plan_path)],
                cwd=settings.BASE_DIR,
                env=_worker_env(cache_prefix),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return processes


def _collect(processes: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=DURATION_S + 120)
            assert process.returncode == 0, f"worker exited {process.returncode}:\n{err[-3000:]}"
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return results


def _report(results: list[dict[str, Any]]) -> str:
    merged: dict[str, list[float]] = {}
    for result in results:
        for name, values in result["latencies_ms"].items():
            merged.setdefault(name, []).extend(values)
    everything = [value for values in merged.values() for value in values]
    lines = [
        f"[faults] mixed load: {WORKERS} processes x {DURATION_S:g} s, {len(everything)} operations, "
        f"{sum(len(r['errors']) for r in results)} errors",
        f"  {'operation':<22}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}",
    ]
    for name, values in [*sorted(merged.items()), ("all", everything)]:
        sample = summarise(values)
        lines.append(f"  {name:<22}{sample.runs:>8}{sample.p50_ms:>10.2f}{sample.p99_ms:>10.2f}{max(values):>10.2f}")
    return "\n".join(lines)


def test_several_processes_of_mixed_load_run_without_a_single_error(
    tmp_path: Path, cache_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_demo(students=DEMO_STUDENTS, seed=5, reset=True)
    materialized_view_refresh(concurrently=False)
    student_ids = list(Student.objects.order_by("pk").values_list("pk", flat=True))
    session_ids = list(ClassSession.objects.order_by("pk").values_list("pk", flat=True)[:SESSIONS])
    assert len(student_ids) >= WORKERS * OWN_STUDENTS and len(session_ids) == SESSIONS

    results = _collect(_start_workers(tmp_path, cache_prefix, student_ids, session_ids))
    report = _report(results)
    with capsys.disabled():
        print("\n" + report)

    errors = [error for result in results for error in result["errors"]]
    assert errors == [], f"{len(errors)} errors, first ones: {errors[:10]}"
    assert len({result["pid"] for result in results}) == WORKERS
    for result in results:
        assert set(result["latencies_ms"]) == OPERATIONS, "every worker ran every kind of operation"

    # What the workers wrote last is what the database holds.
    for result in results:
        grades = {int(pk): grade for pk, grade in result["grades"].items()}
        stored = dict(Student.objects.filter(pk__in=grades).values_list("pk", "grade_level"))
        assert stored == grades
        for pair, status in result["attendance"].items():
            student_id, session_id = (int(part) for part in pair.split(":"))
            assert Attendance.objects.get(student_id=student_id, session_id=session_id).status == status
