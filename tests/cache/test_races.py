"""Races: a reader that loaded the old row before a write must not store it after the invalidation;
concurrent misses on one key compute it once."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connections

from courses.cache import ROSTER_FAMILY
from growthcompass.cache.families import Family
from students.cache import STUDENT_FAMILY
from students.models import Student, StudentStatus
from students.selectors import StudentSummary, student_get
from students.services import student_leave
from tests.cache.conftest import WAIT_S, the_student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


class PausedLoader:
    """Wraps a family's loader: after its query returns, waits until released (the race window)."""

    def __init__(self, load: Callable[[Sequence[int]], Any]) -> None:
        self.load = load
        self.loaded = threading.Event()
        self.release = threading.Event()

    def __call__(self, ids: Sequence[int]) -> Any:
        result = self.load(ids)
        self.loaded.set()
        assert self.release.wait(WAIT_S)
        return result


def in_thread(func: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(func())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def test_a_reader_that_raced_an_orm_write_does_not_store_the_old_row(cache_store):
    student = StudentFactory.create()
    paused = PausedLoader(STUDENT_FAMILY.load_many)
    slow_family: Family[StudentSummary] = dataclasses.replace(STUDENT_FAMILY, load_many=paused)

    # Reader: misses, reads the invalidation counter, loads the ACTIVE row, then stalls.
    reader, result = in_thread(lambda: cache_store.get(slow_family, student.pk))
    assert paused.loaded.wait(WAIT_S)

    # Writer: commits; its on-commit invalidation runs now, before the reader stores.
    student_leave(student=student, left_on=student.enrolled_on, status=StudentStatus.WITHDRAWN, reason="moved")
    assert not cache_store.client.exists(cache_store.key("student", student.pk))

    paused.release.set()
    reader.join(WAIT_S)

    assert result[0].status == StudentStatus.ACTIVE  # what the reader saw, returned to it alone
    assert not cache_store.client.exists(cache_store.key("student", student.pk)), "the old row was stored"
    assert cache_store.counters.peek().get("student|refused") == 1
    assert the_student(student.pk).status == StudentStatus.WITHDRAWN


def test_a_batch_reader_that_raced_a_listener_invalidation_does_not_store_the_old_rows(listener, cache_store):
    students = [StudentFactory.create(grade_level=2) for _ in range(3)]
    listener.barrier()
    paused = PausedLoader(STUDENT_FAMILY.load_many)
    slow_family: Family[StudentSummary] = dataclasses.replace(STUDENT_FAMILY, load_many=paused)

    reader, result = in_thread(lambda: cache_store.get_many(slow_family, [s.pk for s in students]))
    assert paused.loaded.wait(WAIT_S)

    Student.objects.filter(pk=students[1].pk).update(grade_level=3)  # no signal: the listener invalidates
    listener.wait_for("student", students[1].pk)

    paused.release.set()
    reader.join(WAIT_S)

    assert {s.grade_level for s in result[0].values()} == {2}
    # FILL checks each entry's tombstone: the raced row is refused, the others are stored.
    assert not cache_store.client.exists(cache_store.key("student", students[1].pk))
    assert cache_store.client.exists(cache_store.key("student", students[0].pk))
    assert the_student(students[1].pk).grade_level == 3


def test_a_reader_that_raced_a_flush_of_everything_does_not_store(cache_store):
    student = StudentFactory.create()
    paused = PausedLoader(STUDENT_FAMILY.load_many)
    slow_family: Family[StudentSummary] = dataclasses.replace(STUDENT_FAMILY, load_many=paused)

    reader, box = in_thread(lambda: cache_store.get(slow_family, student.pk))
    assert paused.loaded.wait(WAIT_S)
    cache_store.flush_all()
    paused.release.set()
    reader.join(WAIT_S)

    assert not reader.is_alive()
    # The reader got its row (an exception in the thread leaves the box empty) ...
    assert [summary.id for summary in box] == [student.pk]
    # ... and refused to store it, which is why the key is absent.
    assert cache_store.counters.peek().get("student|refused") == 1
    assert not cache_store.client.exists(cache_store.key("student", student.pk))


def test_a_reader_that_started_after_the_invalidation_stores(cache_store):
    student = StudentFactory.create()
    cache_store.invalidate({"student": frozenset({student.pk})})
    assert student_get(student.pk) is not None
    assert cache_store.client.exists(cache_store.key("student", student.pk))


def test_concurrent_misses_on_one_key_compute_it_once(cache_store):
    calls: list[Sequence[int]] = []
    lock = threading.Lock()

    def expensive(ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        with lock:
            calls.append(tuple(ids))
        time.sleep(0.3)  # the expensive query
        return {i: (1, 2, 3) for i in ids}

    family = dataclasses.replace(ROSTER_FAMILY, load_many=expensive)
    start = threading.Barrier(8)
    results: list[Any] = []

    def read() -> None:
        start.wait()
        results.append(cache_store.get(family, 99))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)

    assert calls == [(99,)]
    assert results == [(1, 2, 3)] * 8
    assert cache_store.counters.peek().get("course_roster|waits") == 7


def test_a_waiter_computes_itself_when_the_lock_holder_stores_nothing(cache_store):
    family = dataclasses.replace(ROSTER_FAMILY, load_many=lambda ids: {i: (7,) for i in ids})
    # Another process holds the lock and then gives up without storing.
    lock_key = cache_store.keys.lock("course_roster", 5)
    cache_store.client.set(lock_key, "someone-else", px=200)

    assert cache_store.get(family, 5) == (7,)
