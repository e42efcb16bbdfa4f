"""The listener: reconnects, and invalidates what it may have missed while away."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from growthcompass.cache import get_store, reset_store, runtime, start_server_listener
from growthcompass.cache.listener import listener_connection_params
from tests.cache.conftest import WAIT_S, ListenerHandle, the_student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_made_while_no_listener_ran_is_invalidated_when_one_connects(cache_store):
    student = StudentFactory.create(grade_level=1)
    assert the_student(student.pk).grade_level == 1

    with connection.cursor() as cursor:  # nobody listens: this notification is lost
        cursor.execute("UPDATE students SET grade_level = 2 WHERE id = %s", [student.pk])
    assert the_student(student.pk).grade_level == 1  # stale until a listener runs, as documented

    handle = ListenerHandle().start()  # connecting invalidates everything
    try:
        assert the_student(student.pk).grade_level == 2
    finally:
        handle.stop()


def test_the_listener_reconnects_after_losing_its_connection(listener, cache_store):
    student = StudentFactory.create(grade_level=1)
    first_pid = listener.listener.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first_pid])

    deadline = time.monotonic() + WAIT_S
    while listener.listener.connections < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.listener.connections == 2
    assert listener.listener.ready.wait(WAIT_S)
    assert listener.listener.backend_pid != first_pid

    assert the_student(student.pk).grade_level == 1
    listener.barrier()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE students SET grade_level = 3 WHERE id = %s", [student.pk])
    listener.wait_for("student", student.pk)
    assert the_student(student.pk).grade_level == 3


def test_the_listener_keeps_retrying_while_the_database_is_unreachable(cache_store):
    handle = ListenerHandle(
        params={"host": "127.0.0.1", "port": 1, "dbname": "none", "connect_timeout": 1}, backoff_max_s=0.05
    )
    handle.thread.start()
    deadline = time.monotonic() + WAIT_S
    while handle.listener.failed_connects < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert handle.listener.failed_connects >= 3, "the listener gave up instead of retrying"
        assert handle.thread.is_alive()
        assert not handle.listener.ready.is_set() and handle.listener.connections == 0
    finally:
        handle.stop()
    assert not handle.thread.is_alive()


def test_the_listener_announces_itself_to_cache_stats(listener, cache_store):
    deadline = time.monotonic() + WAIT_S
    while not cache_store.live_listeners() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cache_store.live_listeners() == [listener.listener.listener_id]


def test_the_listener_uses_a_connection_of_its_own(listener):
    with psycopg.connect(**listener_connection_params(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE pid = %s", [listener.listener.backend_pid]
        ).fetchone()
    assert row == ("growthcompass-cache-listener",)


def test_the_listener_can_run_inside_the_app_process(test_caches, monkeypatch):
    # The wish to run one is process-wide: restored after the test.
    monkeypatch.setattr(runtime, "_listener_wanted", False)
    with override_settings(CACHES=test_caches, CACHE_LISTENER_IN_PROCESS=True):
        assert get_store().listener is None  # building a store starts none
        reset_store()
        assert start_server_listener()  # what the WSGI/ASGI entry points call
        store = get_store()
        try:
            assert store.listener is not None
            assert store.listener.ready.wait(WAIT_S)
            student = StudentFactory.create(grade_level=1)
            assert the_student(student.pk).grade_level == 1

            with connection.cursor() as cursor:
                cursor.execute("UPDATE students SET grade_level = 9 WHERE id = %s", [student.pk])
            deadline = time.monotonic() + WAIT_S
            while store.client.exists(store.key("student", student.pk)) and time.monotonic() < deadline:
                time.sleep(0.005)

            assert the_student(student.pk).grade_level == 9
        finally:
            reset_store()
    assert store.listener is not None and not store.listener.ready.is_set()
