"""The two database roles: the application's, which row-level security binds, and the owner's.

The application connects (``DATABASE_URL``) as a role that owns no table and
lacks ``BYPASSRLS``, so PostgreSQL applies every policy to it. Its privileges
are granted to the group role ``growthcompass_app`` (``APPLICATION_ROLE``),
named by the migrations, so the login role may be called anything as long as
it is a member; the embedded server and CI log in as ``growthcompass_app``
itself.

Migrations (and ``flush``, which truncates) run as the owner of the tables:
``MIGRATION_DATABASE_URL``, the same database reached as its owner. Without it
everything runs as the ``DATABASE_URL`` role, as before row-level security;
``rls_check`` then reports that the application role owns the tables.

``as_owner()`` switches an alias to the owner's credentials for the duration
of a block: it closes the alias's connections and pool before and after, so no
connection opened as the owner is ever handed to application code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

logger = logging.getLogger(__name__)

# The group role every privilege of the application is granted to (frozen in migrations).
APPLICATION_ROLE = "growthcompass_app"
# The credentials that differ between the application's URL and the owner's.
_CREDENTIAL_KEYS = ("USER", "PASSWORD", "HOST", "PORT")
_AS_OWNER = "_gc_as_owner"


def owner_database() -> dict[str, Any] | None:
    """The ``DATABASES``-style entry of ``MIGRATION_DATABASE_URL``, or None when it is not set."""
    value: dict[str, Any] | None = getattr(settings, "MIGRATION_DATABASE", None)
    return value


@contextmanager
def as_owner(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block's queries on ``using`` as the owning role (no-op without ``MIGRATION_DATABASE_URL``).

    Must be entered outside any transaction on ``using``. Re-entrant. Aliases
    sharing the settings (a test mirror) are switched with it.
    """
    owner = owner_database()
    connection = connections[using]
    if owner is None or getattr(connection, _AS_OWNER, False) or not same_server(connection.settings_dict, owner):
        # Another server (an alias of its own) is not the owner URL's: its own role migrates it.
        yield
        return
    if connection.in_atomic_block:
        raise RuntimeError("as_owner() cannot switch roles inside a transaction")
    settings_dict = connection.settings_dict
    saved = {key: settings_dict.get(key) for key in _CREDENTIAL_KEYS}
    _reset_connections(settings_dict)
    settings_dict.update({key: owner.get(key) for key in _CREDENTIAL_KEYS})
    setattr(connection, _AS_OWNER, True)
    try:
        yield
    finally:
        _reset_connections(settings_dict)
        settings_dict.update(saved)
        setattr(connection, _AS_OWNER, False)


@contextmanager
def as_owner_outside_transactions(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """``as_owner`` for maintenance services (partitions, audit pruning), which run DDL on owned tables.

    Their commands call them outside any transaction, where the role can be
    switched; a caller that already holds a transaction on ``using`` keeps its
    role (the switch needs a new connection) and must hold the owner's itself.
    """
    if connections[using].in_atomic_block:
        yield
        return
    with as_owner(using):
        yield


def same_server(database: dict[str, Any], owner: dict[str, Any]) -> bool:
    """Whether ``database`` is on the server ``owner`` reaches (host and port; the name may differ: a test database)."""
    return (database.get("HOST") or "", str(database.get("PORT") or "")) == (
        owner.get("HOST") or "",
        str(owner.get("PORT") or ""),
    )


def _reset_connections(settings_dict: dict[str, Any]) -> None:
    for alias in connections:
        connection = connections[alias]
        if connection.settings_dict is not settings_dict:
            continue
        connection.close()
        # Only a pool that exists: asking for ``pool`` would create one just to close it.
        if alias in getattr(connection, "_connection_pools", {}):
            connection.close_pool()  # type: ignore[attr-defined]


def ensure_application_role(conninfo: str | dict[str, Any], login_role: str) -> None:
    """Create ``APPLICATION_ROLE`` (and ``login_role``, a member of it) when missing, as a role that may.

    ``conninfo`` reaches the server as a role with ``CREATEROLE`` (the owner in
    development and CI). Idempotent; roles are cluster-wide, so every database
    of the server shares them. A role without ``CREATEROLE`` only logs why.
    """
    kwargs = conninfo if isinstance(conninfo, dict) else {"conninfo": conninfo}
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)", ([APPLICATION_ROLE, login_role],)
        ).fetchall()
        existing = {row[0] for row in rows}
        try:
            if login_role == APPLICATION_ROLE and (APPLICATION_ROLE, False) in rows:
                # Created NOLOGIN by the rls migration; the application logs in as it here.
                conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(APPLICATION_ROLE)))
            if APPLICATION_ROLE not in existing:
                login = sql.SQL("LOGIN" if login_role == APPLICATION_ROLE else "NOLOGIN")
                conn.execute(
                    sql.SQL("CREATE ROLE {} {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                        sql.Identifier(APPLICATION_ROLE), login
                    )
                )
            if login_role != APPLICATION_ROLE and login_role not in existing:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE {}").format(
                        sql.Identifier(login_role), sql.Identifier(APPLICATION_ROLE)
                    )
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            logger.warning("cannot create the application role %s: %s", APPLICATION_ROLE, exc)


def connection_kwargs(database: dict[str, Any]) -> dict[str, Any]:
    """psycopg ``connect`` keyword arguments for a ``DATABASES`` entry (no pool, no options)."""
    kwargs: dict[str, Any] = {"dbname": database["NAME"], "user": database.get("USER") or None}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("PASSWORD", "password")):
        if database.get(key):
            kwargs[name] = database[key]
    sslmode = (database.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        kwargs["sslmode"] = sslmode
    return kwargs


def ensure_owner_created_application_role(using: str = DEFAULT_DB_ALIAS) -> None:
    """Before migrating: create the application role (and the login role of ``using``) as the owner, if missing.

    Only with ``MIGRATION_DATABASE_URL``, whose role creates it when it may
    (CREATEROLE). Without an owner URL the application role is the owner and
    nothing is created.
    """
    owner = owner_database()
    if owner is None:
        return
    database = connections[using].settings_dict
    login_role = database.get("USER") or APPLICATION_ROLE
    if login_role == owner.get("USER") or not same_server(database, owner):
        return
    target = {**owner, "NAME": database["NAME"]}
    try:
        ensure_application_role(connection_kwargs(target), str(login_role))
    except psycopg.OperationalError as exc:
        logger.warning("cannot reach the database as its owner to create %s: %s", login_role, exc)
