"""cache_stats, cache_clear and cache_listener."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from courses.selectors import course_get, course_roster, courses_active
from growthcompass.cache import build_store, cached
from students.models import Student
from students.selectors import student_get, student_guardians, students_by_ids
from tests.cache.conftest import WAIT_S, the_student
from tests.db.aliases import suite_database_url
from tests.factories import EnrollmentFactory, GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def present(store, family: str, ident: int) -> bool:
    return bool(store.client.exists(store.key(family, ident)))


def test_cache_stats_json_sums_every_process(cache_store):
    students = [StudentFactory.create() for _ in range(3)]
    for s in students:
        student_get(s.pk)  # 3 misses
        student_get(s.pk)  # 3 hits
    other = build_store()  # another process, same Redis
    try:
        other.get_many(students_by_ids.__globals__["STUDENT_FAMILY"], [s.pk for s in students])  # 3 hits
        other.flush_stats()
    finally:
        other.close()

    report = json.loads(run("cache_stats", "--json"))

    row = report["families"]["student"]
    assert (row["hits"], row["misses"], row["stores"]) == (6, 3, 3)
    assert row["hit_rate"] == pytest.approx(6 / 9, abs=1e-3)
    assert report["redis"]["connected"] is True
    assert report["redis"]["used_memory"] > 0
    assert report["totals"]["reads"] == 9


def test_statistics_reach_redis_in_one_pipelined_flush(cache_store):
    student = StudentFactory.create()
    for _ in range(50):
        student_get(student.pk)
    assert cache_store.client.hgetall(cache_store.stats_key) == {}  # not one round trip per read
    cache_store.flush_stats()
    shared = cache_store.shared_counts()
    assert shared["student|hits"] == 49
    assert shared["student|misses"] == 1


def test_cache_stats_table_and_reset(cache_store):
    student = StudentFactory.create()
    student_get(student.pk)
    text = run("cache_stats", "--reset")
    assert "Redis: connected" in text
    assert "student" in text and "total" in text
    assert "Counters reset." in text
    assert json.loads(run("cache_stats", "--json"))["totals"]["reads"] == 0


def test_cache_clear_student_clears_that_student_only(cache_store):
    guardian = GuardianFactory.create()
    other = StudentFactory.create()
    student_get(guardian.student_id)
    student_guardians(guardian.student_id)
    student_get(other.pk)
    assert present(cache_store, "student", guardian.student_id)
    assert present(cache_store, "student_guardians", guardian.student_id)
    assert present(cache_store, "student", other.pk)

    assert "student" in run("cache_clear", "--student", str(guardian.student_id))

    assert not present(cache_store, "student", guardian.student_id)
    assert not present(cache_store, "student_guardians", guardian.student_id)
    assert present(cache_store, "student", other.pk)


def test_cache_clear_course_clears_course_roster_and_active_list(cache_store):
    enrollment = EnrollmentFactory.create()
    course_get(enrollment.course_id)
    course_roster(enrollment.course_id)
    courses_active()
    student_get(enrollment.student_id)
    assert present(cache_store, "course", enrollment.course_id)
    assert present(cache_store, "course_roster", enrollment.course_id)
    assert present(cache_store, "courses_active", 0)

    run("cache_clear", "--course", str(enrollment.course_id))

    assert not present(cache_store, "course", enrollment.course_id)
    assert not present(cache_store, "course_roster", enrollment.course_id)
    assert not present(cache_store, "courses_active", 0)
    assert present(cache_store, "student", enrollment.student_id)


def test_cache_clear_pattern_deletes_matching_keys(cache_store):
    students = [StudentFactory.create() for _ in range(2)]
    for s in students:
        student_get(s.pk)
        student_guardians(s.pk)

    text = run("cache_clear", "--pattern", "student_guardians:*")

    assert "Deleted 2 key(s)" in text
    assert all(present(cache_store, "student", s.pk) for s in students)
    assert not any(present(cache_store, "student_guardians", s.pk) for s in students)


def test_cache_clear_all_asks_first(cache_store):
    student = StudentFactory.create()
    student_get(student.pk)

    with pytest.raises(CommandError, match="not confirmed"):
        run("cache_clear", "--all", stdin=io.StringIO("no\n"))
    assert present(cache_store, "student", student.pk)

    assert "1 deleted" in run("cache_clear", "--all", stdin=io.StringIO("yes\n"))
    assert not present(cache_store, "student", student.pk)

    student_get(student.pk)
    assert "1 deleted" in run("cache_clear", "--all", "--yes")
    assert not present(cache_store, "student", student.pk)


def test_cache_clear_all_clears_cached_querysets_too(cache_store):
    StudentFactory.create(grade_level=6)
    queryset = Student.objects.filter(grade_level=6)
    assert len(cached(queryset)) == 1
    entries = list(cache_store.client.scan_iter(match=cache_store.prefix + "qs:*", count=1000))
    assert entries, "the queryset was not stored"

    assert "every cached queryset" in run("cache_clear", "--all", "--yes")

    assert not any(cache_store.client.exists(key) for key in entries)


def test_cache_clear_keeps_keys_it_does_not_own(cache_store):
    cache_store.client.set(cache_store.prefix + "someone-elses-key", b"1")
    run("cache_clear", "--all", "--yes")
    assert cache_store.client.exists(cache_store.prefix + "someone-elses-key")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Say what to clear"),
        (("--all", "--student", "1"), "cannot be combined"),
        (("--pattern", "~seq"), "bookkeeping"),
    ],
)
def test_cache_clear_refuses_unclear_requests(cache_store, args, message):
    with pytest.raises(CommandError, match=message):
        run("cache_clear", *args)


def test_cache_listener_command_invalidates_raw_sql_writes(cache_store, test_caches):
    student = StudentFactory.create(grade_level=4)
    student_get(student.pk)
    env = {
        **os.environ,
        # The test database, and the test's own cache prefix.
        "DATABASE_URL": suite_database_url(),
        "CACHE_KEY_PREFIX": test_caches["default"]["KEY_PREFIX"],
        "REDIS_URL": settings.REDIS_URL,
    }
    env.pop("PYTEST_VERSION", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "cache_listener"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        ready, _, _ = select.select([process.stdout], [], [], WAIT_S)
        assert ready, "cache_listener printed nothing within the wait"
        first_line = process.stdout.readline()
        assert first_line.startswith("Listening on gc_cache"), first_line + process.stderr.read()
        student_get(student.pk)  # cached again after the connect-time flush
        assert present(cache_store, "student", student.pk)

        with connection.cursor() as cursor:
            cursor.execute("UPDATE students SET grade_level = 5 WHERE id = %s", [student.pk])
        deadline = time.monotonic() + WAIT_S
        while present(cache_store, "student", student.pk) and time.monotonic() < deadline:
            time.sleep(0.01)

        assert not present(cache_store, "student", student.pk)
        assert the_student(student.pk).grade_level == 5
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 0, err
    assert "Stopped after 1 notification(s) over 1 connection(s)." in out
