"""Fixtures for the metrics view tests: a second, raw database session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection


def raw_connect(autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """A plain psycopg session on the test database, outside Django and its pool."""
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        connect_timeout=5,
        autocommit=autocommit,
    )


@pytest.fixture
def other_session() -> Iterator[Callable[..., psycopg.Connection[tuple[object, ...]]]]:
    """Open extra raw sessions; all are closed (rolling back) when the test ends."""
    opened: list[psycopg.Connection[tuple[object, ...]]] = []

    def open_session(autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
        session = raw_connect(autocommit)
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


@pytest.fixture
def private_cache(settings: Any, worker_id: str) -> Iterator[None]:
    """The process's cache store on an empty prefix of this test's own, so no entry outlives its rows."""
    from django.test import override_settings

    from growthcompass.cache import get_store, reset_store
    from growthcompass.cache.config import caches_from_url

    base = settings.CACHES["default"]["KEY_PREFIX"]
    caches = caches_from_url(settings.REDIS_URL, key_prefix=f"{base}-dashboard-{worker_id}")
    with override_settings(CACHES=caches):
        reset_store()
        store = get_store()
        keys = list(store.client.scan_iter(match=store.prefix + "*", count=1000))
        if keys:
            store.client.unlink(*keys)
        yield
        reset_store()
