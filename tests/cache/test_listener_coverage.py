"""A (re)connecting listener invalidates only what it may have missed; short-lived commands start none."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from growthcompass.cache.health import listener_check
from tests.cache.conftest import ListenerHandle, the_student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def cached(store, student_id: int) -> bool:
    return bool(store.client.exists(store.key("student", student_id)))


def test_a_listener_joining_a_live_one_keeps_the_cache(cache_store):
    first = ListenerHandle().start()
    try:
        student = StudentFactory.create(grade_level=1)
        # The INSERT's notification applied first: else its invalidation may land after the read below.
        first.barrier()
        assert the_student(student.pk).grade_level == 1
        assert cached(cache_store, student.pk)
        second = ListenerHandle().start()
        try:
            assert second.listener.full_flushes == 0
            assert cached(cache_store, student.pk)
        finally:
            second.stop()
    finally:
        first.stop()
    assert first.listener.full_flushes == 1


def test_a_listener_starting_after_a_gap_invalidates_everything(cache_store):
    ListenerHandle().start().stop()  # a listener came and went: its heartbeat is withdrawn
    assert cache_store.live_listeners() == []
    student = StudentFactory.create(grade_level=1)
    assert the_student(student.pk).grade_level == 1
    assert cached(cache_store, student.pk)
    handle = ListenerHandle().start()
    try:
        assert handle.listener.full_flushes == 1
        assert not cached(cache_store, student.pk)
    finally:
        handle.stop()


def test_a_heartbeat_whose_session_is_gone_covers_nothing(cache_store):
    # A listener that lost its connection, its heartbeat not yet expired: it received nothing since.
    cache_store.heartbeat("ghost", ttl_s=60, session="2147483000@1.0")
    student = StudentFactory.create(grade_level=1)
    assert the_student(student.pk).grade_level == 1
    assert cached(cache_store, student.pk)
    handle = ListenerHandle().start()
    try:
        assert handle.listener.full_flushes == 1
        assert not cached(cache_store, student.pk)
    finally:
        handle.stop()
        cache_store.forget_listener("ghost")


def test_healthcheck_starts_no_listener_and_keeps_the_cache(cache_store, test_caches):
    student = StudentFactory.create(grade_level=1)
    assert the_student(student.pk).grade_level == 1
    assert cached(cache_store, student.pk)
    # The development setting: before, any store built by a command ran a listener, which flushed on connect.
    with override_settings(CACHES=test_caches, CACHE_LISTENER_IN_PROCESS=True, CACHE_LISTENER_REQUIRED=False):
        from growthcompass.cache import get_store

        call_command("healthcheck", "--check", "redis", "--check", "cache_listener", stdout=io.StringIO())
        assert get_store().listener is None
        assert cached(get_store(), student.pk)


def test_the_listener_health_check_fails_without_a_live_listener_where_one_is_required(cache_store):
    assert cache_store.live_listeners() == []
    with override_settings(CACHE_LISTENER_REQUIRED=True):
        result = listener_check()
        assert not result.ok and "no invalidation listener alive" in result.detail
        with pytest.raises(CommandError, match="1 of 1 health checks failed"):
            call_command("healthcheck", "--check", "cache_listener", stdout=io.StringIO(), stderr=io.StringIO())
        handle = ListenerHandle().start()
        try:
            assert listener_check().ok
        finally:
            handle.stop()
    with override_settings(CACHE_LISTENER_REQUIRED=False):
        assert listener_check().ok
