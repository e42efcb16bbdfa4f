"""Fixtures for the database-layer tests: real servers, run-time aliases, clean routing state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from growthcompass.db.router import replica_health, reset_request_state
from tests.db.servers import StreamingPair


@pytest.fixture(autouse=True)
def clean_routing_state() -> Iterator[None]:
    """Each test starts with no remembered write and a replica not marked down."""
    reset_request_state()
    replica_health.reset()
    yield
    reset_request_state()
    replica_health.reset()


@pytest.fixture
def db_unblocked(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access without a test transaction, for tests that add aliases at run time.

    A Django TestCase forbids every configured alias it was not told about
    when it started, which run-time aliases never are. Tests using this must
    not write to the test database (nothing rolls it back).
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="module")
def streaming_pair() -> Iterator[StreamingPair]:
    """A private primary and a replica streaming from it (unix sockets only, under a temp dir)."""
    pair = StreamingPair()
    try:
        yield pair.start()
    finally:
        pair.close()
