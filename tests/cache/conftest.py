"""Fixtures for the cache tests: a private key prefix, the invalidation listener, a raw LISTEN connection.

Invalidation happens on commit, so most tests here use ``transactional_db``
(pytest-django's ``db`` wraps a test in a transaction that never commits).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.test import override_settings

from courses.selectors import CourseSummary, course_get
from growthcompass.cache import CacheStore, get_store, reset_store
from growthcompass.cache.config import caches_from_url
from growthcompass.cache.listener import CHANNEL, InvalidationListener, listener_connection_params
from growthcompass.cache.messages import EVERYTHING, Invalidation
from growthcompass.cache.table_triggers import PAYLOAD_PREFIX as TABLE_PAYLOAD_PREFIX
from students.selectors import StudentSummary, student_get

WAIT_S = 15.0  # a guard against hanging, never a performance assertion


def wipe(store: CacheStore) -> None:
    """Delete every key under the store's (test-only) prefix."""
    keys = list(store.client.scan_iter(match=store.prefix.replace("*", "\\*") + "*", count=1000))
    if keys:
        store.client.unlink(*keys)


@pytest.fixture
def test_caches(settings: Any, worker_id: str) -> dict[str, Any]:
    """CACHES on the configured Redis under a prefix of this test run's own (xdist workers apart)."""
    base = settings.CACHES["default"]["KEY_PREFIX"]
    return caches_from_url(settings.REDIS_URL, key_prefix=f"{base}-test-{worker_id}")


@pytest.fixture
def cache_store(test_caches: dict[str, Any]) -> Iterator[CacheStore]:
    """The process's store on a private, empty prefix."""
    with override_settings(CACHES=test_caches):
        store = get_store()
        wipe(store)
        yield store
        reset_store()


@pytest.fixture
def local_store(test_caches: dict[str, Any]) -> Iterator[CacheStore]:
    """The process's store with the in-process tier on, subscribed."""
    with override_settings(CACHES=test_caches, CACHE_LOCAL_TIER=True, CACHE_LOCAL_TTL_S=60.0):
        store = get_store()
        wipe(store)
        assert store.subscriber is not None
        assert store.subscriber.subscribed.wait(WAIT_S)
        yield store
        reset_store()


class ListenerHandle:
    """A listener thread, and what it has applied (for tests to wait on)."""

    def __init__(self, **kwargs: Any) -> None:
        self.applied: list[Invalidation] = []
        # ``wait_for`` looks at what was applied after the last ``barrier``.
        self.mark = 0
        self._changed = threading.Condition()
        self.listener = InvalidationListener(on_batch=self._record, **kwargs)
        self.thread = threading.Thread(target=self.listener.run, daemon=True)

    def _record(self, invalidation: Invalidation, notifications: int) -> None:
        with self._changed:
            self.applied.append(invalidation)
            self._changed.notify_all()

    def start(self) -> ListenerHandle:
        self.thread.start()
        assert self.listener.ready.wait(WAIT_S), "the listener did not connect"
        return self

    def stop(self) -> None:
        self.listener.stop()
        self.thread.join(WAIT_S)

    def covers(self, family: str, ident: int) -> bool:
        return any(
            EVERYTHING in inv or (family in inv and (inv[family] is None or ident in (inv[family] or ())))
            for inv in self.applied[self.mark :]
        )

    def wait_for(self, family: str, ident: int) -> None:
        """Block until the listener has applied an invalidation of ``family:ident``."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.covers(family, ident), WAIT_S), (
                f"no invalidation of {family}:{ident} arrived; applied: {self.applied}"
            )

    def barrier(self) -> None:
        """Wait until every notification committed before this call has been applied.

        PostgreSQL delivers notifications in commit order, so once a marker
        notified now has been applied, so has everything committed earlier.
        Later ``wait_for`` calls only look at what is applied after it.
        """
        marker = -(len(self.applied) + 1_000_000)
        with psycopg.connect(**listener_connection_params(), autocommit=True) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"student:{marker}"])
        self.wait_for("student", marker)
        with self._changed:
            self.mark = len(self.applied)


@pytest.fixture
def listener(cache_store: CacheStore, transactional_db: None) -> Iterator[ListenerHandle]:
    handle = ListenerHandle().start()
    yield handle
    handle.stop()


@pytest.fixture
def notifications(transactional_db: None) -> Iterator[psycopg.Connection[Any]]:
    """A raw connection LISTENing on the invalidation channel (to check the triggers' payloads)."""
    with psycopg.connect(**listener_connection_params(), autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


def payloads(conn: psycopg.Connection[Any]) -> list[str]:
    """Payloads delivered so far (the writes committed before the call)."""
    marker = "end-of-test-batch"
    with psycopg.connect(**listener_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_notify(%s, %s)", [CHANNEL, marker])
    received: list[str] = []
    for notify in conn.notifies(timeout=WAIT_S):
        if notify.payload == marker:
            return received
        if not notify.payload.startswith(TABLE_PAYLOAD_PREFIX):  # cached querysets' table payloads: their own tests
            received.append(notify.payload)
    raise AssertionError(f"the marker notification never arrived; got {received}")


def the_student(student_id: int) -> StudentSummary:
    """``student_get`` for a student the test knows exists."""
    found = student_get(student_id)
    assert found is not None, f"student {student_id} not found"
    return found


def the_course(course_id: int) -> CourseSummary:
    """``course_get`` for a course the test knows exists."""
    found = course_get(course_id)
    assert found is not None, f"course {course_id} not found"
    return found
