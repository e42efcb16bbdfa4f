"""A loopback PgBouncer in front of the test database, and a Django connection through it.

Tests that need Debian's ``pgbouncer`` skip (naming ``make pgbouncer-deps``)
when it is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler

from growthcompass.db.config import database_from_url
from growthcompass.db.pooler import DIRECT_KEY, TIMEOUT_KEY, behind_pooler
from growthcompass.devservers.pgbouncer import INSTALL_HINT, LocalPgBouncer, pgbouncer_binary


def require_pgbouncer() -> None:
    if pgbouncer_binary() is None:
        pytest.skip(INSTALL_HINT)


def upstream_url(alias: str = "default") -> str:
    """A URL of the PostgreSQL server under ``alias`` itself (its direct URL when the suite runs behind a pooler)."""
    settings_dict = connections[alias].settings_dict
    direct = settings_dict.get(DIRECT_KEY)
    if direct:
        # Only the direct route's own parts: the pooler's port must not leak into a socket path.
        host, port = direct.get("host", ""), direct.get("port", "")
        user, password = direct.get("user", "postgres"), direct.get("password", "")
    else:
        host, port = settings_dict.get("HOST") or "", settings_dict.get("PORT") or ""
        user, password = settings_dict.get("USER") or "postgres", settings_dict.get("PASSWORD") or ""
    credentials = quote(str(user), safe="") + (f":{quote(str(password), safe='')}" if password else "")
    location = quote(str(host), safe="") + (f":{port}" if port else "")
    return f"postgres://{credentials}@{location}/{quote(str(settings_dict['NAME']), safe='')}"


@contextmanager
def local_pgbouncer(*, pool_size: int = 20, max_client_conn: int = 1000) -> Iterator[LocalPgBouncer]:
    require_pgbouncer()
    bouncer = LocalPgBouncer(upstream_url(), pool_size=pool_size, max_client_conn=max_client_conn).start()
    try:
        yield bouncer
    finally:
        bouncer.stop()


def pooled_entry(bouncer: LocalPgBouncer, *, statement_timeout_ms: int = 30_000, pool: bool = False) -> dict[str, Any]:
    """A ``DATABASES`` entry for the test database through ``bouncer``, as settings build it."""
    entry = behind_pooler(
        database_from_url(bouncer.url(), statement_timeout_ms=statement_timeout_ms),
        pooler="pgbouncer",
        direct=database_from_url(bouncer.upstream_url),
    )
    if not pool:
        entry["OPTIONS"].pop("pool", None)
    assert entry[TIMEOUT_KEY] == statement_timeout_ms
    return entry


@contextmanager
def pooled_connection(bouncer: LocalPgBouncer, **kwargs: Any) -> Iterator[BaseDatabaseWrapper]:
    """A Django connection (its own handler, so its own execute wrappers) through ``bouncer``."""
    handler = ConnectionHandler({"default": pooled_entry(bouncer, **kwargs)})
    connection = handler["default"]
    try:
        yield connection
    finally:
        connection.close()


def behind_pooler_marker(reason: str) -> pytest.MarkDecorator:
    """Skip a test when the suite itself runs through a transaction pooler (``make test-pgbouncer``), saying why."""
    from django.conf import settings

    return pytest.mark.skipif(
        getattr(settings, "DATABASE_POOLER", "none") != "none", reason=f"behind a transaction pooler: {reason}"
    )
