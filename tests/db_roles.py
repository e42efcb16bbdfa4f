"""Connections from outside Django for tests: the application role with a declared scope, or the owner."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection

from growthcompass.cache.listener import listener_connection_params
from growthcompass.db.roles import connection_kwargs, owner_database

# What a psql session on the application role runs first to maintain data (row-level security).
SYSTEM_SCOPE_SQL = "SET growthcompass.rls_kind = 'system'"


def other_connection() -> psycopg.Connection[Any]:
    """An autocommit connection on the application role, in a system scope for its whole session."""
    other = psycopg.connect(**listener_connection_params(), autocommit=True)
    other.execute(SYSTEM_SCOPE_SQL)
    return other


def owner_connection() -> psycopg.Connection[Any]:
    """An autocommit connection as the owner of the tables (COPY and TRUNCATE, which the application role may not)."""
    owner = owner_database()
    if owner is None:
        return psycopg.connect(**listener_connection_params(), autocommit=True)
    return psycopg.connect(**connection_kwargs({**owner, "NAME": connection.settings_dict["NAME"]}), autocommit=True)
