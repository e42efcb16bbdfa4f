"""Database aliases added (and removed) at run time, for tests that need a second connection."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from growthcompass.db.config import database_from_url
from growthcompass.db.pooler import DIRECT_KEY, POOLER_KEY, behind_pooler


def suite_database_url(dbname: str | None = None) -> str:
    """A URL for the database the suite runs against (the test database once pytest-django set it up),
    or for ``dbname`` on the same server."""
    settings = connections[DEFAULT_DB_ALIAS].settings_dict
    host = (settings["HOST"] or "").replace("/", "%2F")
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    return f"postgres://{settings['USER']}{password}@{host}{port}/{dbname or settings['NAME']}"


@contextmanager
def temporary_alias(alias: str, config: dict[str, Any]) -> Iterator[BaseDatabaseWrapper]:
    """Make ``alias`` a configured database for the block; close its connection and pool after."""
    full = connections.configure_settings(
        {DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS], alias: copy.deepcopy(config)}
    )[alias]
    connections.settings[alias] = full
    try:
        yield connections[alias]
    finally:
        connection = connections[alias]
        with suppress(Exception):
            connection.close()
        with suppress(Exception):
            connection.close_pool()  # type: ignore[attr-defined]
        with suppress(AttributeError):
            del connections[alias]
        connections.settings.pop(alias, None)


def _same_server(url: str, settings_dict: dict[str, Any]) -> bool:
    parts = urlsplit(url)
    server = (settings_dict["HOST"] or "", str(settings_dict["PORT"] or ""))
    return (parts.hostname or "", str(parts.port or "")) == server


@contextmanager
def alias_for_url(alias: str, url: str, **options: Any) -> Iterator[BaseDatabaseWrapper]:
    """``temporary_alias`` for a URL, built exactly as settings build ``DATABASES`` (behind the suite's pooler too)."""
    config = database_from_url(url, **options)
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    if default.get(POOLER_KEY) and _same_server(url, default):
        config = behind_pooler(config, pooler=str(default[POOLER_KEY]))
        config[DIRECT_KEY] = default.get(DIRECT_KEY)
    with temporary_alias(alias, config) as connection:
        yield connection
