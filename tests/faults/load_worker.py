"""One process of the mixed-load test: reads, writes and view refreshes for a bounded time.

Run by ``test_mixed_load.py`` as ``python -m tests.faults.load_worker PLAN.json``
with ``DATABASE_URL`` pointing at the test database and ``REDIS_URL`` and
``CACHE_KEY_PREFIX`` at a cache of the test's own. It does what a busy
application process does -- cached and uncached reads, the safe query API,
metrics reads, ORM writes, attendance upserts, now and then a refresh of the
metrics view -- and prints one JSON line: per operation the latencies in ms,
every error (an exception, or a read that returned a wrong answer), and what
it wrote last, so the test can check the database afterwards.

Each process writes only its own students, so it knows their true state and
checks every read of them; reads of other students check only that an
answer came back.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import django


def main(plan_path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
    django.setup()
    from growthcompass.rls import rls_system_context

    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    # A process of its own, under row-level security like any: it declares its scope.
    with rls_system_context(reason="fault test load worker"):
        result = Worker(plan).run()
    print(json.dumps(result))


class Worker:
    def __init__(self, plan: dict[str, Any]) -> None:
        from attendance.models import ClassSession
        from students.models import Student

        self.duration_s = float(plan["duration_s"])
        self.refresh_every_s = float(plan["refresh_every_s"])
        self.rng = random.Random(plan["seed"])
        self.all_ids: list[int] = plan["all_student_ids"]
        self.own = {s.pk: s for s in Student.objects.filter(pk__in=plan["own_student_ids"]).select_related("user")}
        self.grades = {pk: s.grade_level for pk, s in self.own.items()}
        self.sessions = list(ClassSession.objects.filter(pk__in=plan["session_ids"]))
        self.attendance: dict[str, str] = {}  # "student:session" -> last status written
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []

    def run(self) -> dict[str, Any]:
        from django.db import connections

        operations: list[tuple[str, Callable[[], None], int]] = [
            ("read_cached_student", self.read_cached_student, 30),
            ("read_own_student", self.read_own_student, 20),
            ("read_student_batch", self.read_student_batch, 10),
            ("read_safe_query", self.read_safe_query, 10),
            ("read_metrics", self.read_metrics, 10),
            ("write_grade", self.write_grade, 8),
            ("write_attendance", self.write_attendance, 8),
        ]
        names = [name for name, _, _ in operations]
        calls = {name: call for name, call, _ in operations}
        weights = [weight for _, _, weight in operations]
        started = time.monotonic()
        next_refresh = started + self.rng.uniform(0, self.refresh_every_s)
        while time.monotonic() - started < self.duration_s:
            if time.monotonic() >= next_refresh:
                self.timed("refresh_view", self.refresh_view)
                next_refresh = time.monotonic() + self.refresh_every_s
            name = self.rng.choices(names, weights)[0]
            self.timed(name, calls[name])
            if self.rng.random() < 0.1:
                connections["default"].close()  # back to the pool, as at the end of a request
        connections.close_all()
        return {
            "pid": os.getpid(),
            "latencies_ms": self.latencies,
            "errors": self.errors,
            "grades": {str(pk): grade for pk, grade in self.grades.items()},
            "attendance": self.attendance,
        }

    def timed(self, name: str, call: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # counted and reported: the test expects none
            self.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:500])
        self.latencies.setdefault(name, []).append((time.perf_counter() - started) * 1000)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.errors.append(f"wrong answer: {what}"[:500])

    # -- reads ---------------------------------------------------------------------------

    def read_cached_student(self) -> None:
        from students.selectors import student_get

        student_id = self.rng.choice(self.all_ids)
        found = student_get(student_id)
        self.check(found is not None and found.id == student_id, f"student_get({student_id}) -> {found}")

    def read_own_student(self) -> None:
        from students.selectors import student_get

        student_id = self.rng.choice(list(self.own))
        found = student_get(student_id)
        expected = self.grades[student_id]
        self.check(found is not None and found.grade_level == expected, f"own {student_id}: {found} != {expected}")

    def read_student_batch(self) -> None:
        from students.selectors import students_by_ids

        wanted = self.rng.sample(self.all_ids, 20)
        found = students_by_ids(wanted)
        self.check(sorted(found) == sorted(wanted), f"students_by_ids: {len(found)} of {len(wanted)}")

    def read_safe_query(self) -> None:
        from growthcompass.db.query import find_many

        grade = self.rng.randrange(0, 13)
        rows = find_many("students", [("grade_level", ">=", grade)], order_by="student_number", limit=25)
        self.check(all(row["grade_level"] >= grade for row in rows), f"find_many grade >= {grade}")

    def read_metrics(self) -> None:
        from dashboards.selectors import student_metrics_get

        student_id = self.rng.choice(self.all_ids)
        row = student_metrics_get(student_id=student_id)
        self.check(row is not None and row.pk == student_id, f"student_metrics_get({student_id}) -> {row}")

    # -- writes and refreshes ------------------------------------------------------------

    def write_grade(self) -> None:
        student = self.own[self.rng.choice(list(self.own))]
        student.grade_level = (student.grade_level + 1) % 13
        student.save(update_fields=["grade_level"])
        self.grades[student.pk] = student.grade_level

    def write_attendance(self) -> None:
        from attendance.models import AttendanceStatus
        from attendance.services import attendance_record

        student = self.own[self.rng.choice(list(self.own))]
        session = self.rng.choice(self.sessions)
        status = self.rng.choice([AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.LATE])
        attendance_record(student=student, session=session, status=status, minutes_late=5)
        self.attendance[f"{student.pk}:{session.pk}"] = str(status)

    def refresh_view(self) -> None:
        from dashboards.refresh import materialized_view_refresh

        result = materialized_view_refresh(concurrently=True, wait=True, wait_timeout_s=60)
        self.check(result.row_count == len(self.all_ids), f"refresh saw {result.row_count} rows")


if __name__ == "__main__":
    main(sys.argv[1])
