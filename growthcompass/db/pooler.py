"""Running behind a transaction-pooling PgBouncer (``DATABASE_POOLER=pgbouncer``).

In ``pool_mode = transaction`` a client holds a server connection only for
the length of one transaction; the next transaction of the same client may
run on another server connection, and whatever a transaction left on the
session (a ``SET``, a prepared statement, a held cursor, a session advisory
lock, a ``LISTEN``) is inherited by whichever client runs there next. So an
alias behind the pooler:

- sends no ``options`` startup parameter (PgBouncer refuses it: "unsupported
  startup parameter"); ``statement_timeout`` is instead set transaction-locally
  (``set_config(..., true)``) at the start of every transaction by an execute
  wrapper, so the timeout is in force on whichever server connection runs it;
- uses no server-side cursors (``DISABLE_SERVER_SIDE_CURSORS``): a
  ``WITH HOLD`` cursor outlives the transaction that declared it;
- keeps prepared statements off (``prepare_threshold=None``);
- opens connections that need a real session (the invalidation listener's
  ``LISTEN``, ``EXPLAIN`` of a prepared statement) to ``DATABASE_DIRECT_URL``,
  the same database reached without the pooler.

``check_pooler_compatibility`` (a Django system check) lists whatever in
``DATABASES`` would break under the pooler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

POOLERS = ("pgbouncer",)
# Keys of a DATABASES entry set by ``behind_pooler`` (Django ignores keys it does not know).
POOLER_KEY = "POOLER"
DIRECT_KEY = "DIRECT"
TIMEOUT_KEY = "STATEMENT_TIMEOUT_MS"
# Extra transaction-local settings for one connection (the migration timeouts), as an attribute.
_EXTRA_SETTINGS = "_gc_pooler_transaction_settings"
_RESTORE = "_gc_pooler_restore_settings"
# libpq parameters the direct URL supplies; the database name always comes from the alias (which a
# test run renames to test_<name>).
_DIRECT_PARAMS = ("host", "port", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey")
_STARTUP_TIMEOUT = re.compile(r"-c\s*statement_timeout=(\d+)")
# Statements PostgreSQL refuses inside a transaction block. In autocommit, a statement
# prefixed with set_config() is one implicit transaction block of two statements, so these
# go unprefixed (and run under the server's default statement_timeout).
_NO_TRANSACTION_BLOCK = re.compile(
    r"^\s*(?:(?:CREATE|DROP|ALTER)\s+(?:DATABASE|TABLESPACE)|VACUUM|ALTER\s+SYSTEM|"
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY|REINDEX\b.*\bCONCURRENTLY|"
    r"REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY|CLUSTER\b|CHECKPOINT\b|"
    r"COMMIT\b|ROLLBACK\b|BEGIN\b|START\s+TRANSACTION|END\b|SAVEPOINT\b|RELEASE\b|PREPARE\s+TRANSACTION)",
    re.IGNORECASE | re.DOTALL,
)


def behind_pooler(
    config: dict[str, Any],
    *,
    pooler: str,
    direct: Mapping[str, Any] | None = None,
    variable: str = "DATABASE_POOLER",
) -> dict[str, Any]:
    """Turn a ``DATABASES`` entry built by ``database_from_url`` into one that works through ``pooler``.

    ``direct`` is the entry (also from ``database_from_url``) of ``DATABASE_DIRECT_URL``; its
    host, port, user, password and TLS settings are used for session connections.
    """
    if pooler not in POOLERS:
        raise ImproperlyConfigured(f"{variable} must be one of {', '.join(POOLERS)} (or unset); got {pooler!r}")
    entry = dict(config)
    options = dict(entry.get("OPTIONS") or {})
    startup = str(options.pop("options", "") or "")
    if match := _STARTUP_TIMEOUT.search(startup):
        entry[TIMEOUT_KEY] = int(match.group(1))
        startup = _STARTUP_TIMEOUT.sub("", startup).strip()
    if startup:
        # Anything else in the startup options would be refused by the pooler: keep it for the check to report.
        options["options"] = startup
    options["prepare_threshold"] = None
    entry["OPTIONS"] = options
    entry["DISABLE_SERVER_SIDE_CURSORS"] = True
    entry[POOLER_KEY] = pooler
    if direct is not None:
        direct_options = direct.get("OPTIONS") or {}
        params = {
            "host": direct.get("HOST") or "",
            "port": direct.get("PORT") or "",
            "user": direct.get("USER") or "",
            "password": direct.get("PASSWORD") or "",
            **{key: direct_options[key] for key in _DIRECT_PARAMS if key in direct_options},
        }
        if direct.get("NAME") != entry.get("NAME"):
            raise ImproperlyConfigured(
                f"DATABASE_DIRECT_URL names database {direct.get('NAME')!r} but DATABASE_URL names "
                f"{entry.get('NAME')!r}; the direct URL must reach the same database without the pooler"
            )
        entry[DIRECT_KEY] = {key: value for key, value in params.items() if value != ""}
    return entry


def pooler_of(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    """The pooler ``alias`` connects through, or None for a direct connection."""
    if alias not in connections.settings:
        return None
    value = connections.settings[alias].get(POOLER_KEY)
    return str(value) if value else None


def session_connection_params(
    alias: str = DEFAULT_DB_ALIAS, *, connection: BaseDatabaseWrapper | None = None
) -> dict[str, Any]:
    """libpq parameters for a connection that needs a session of its own (``LISTEN``, ``PREPARE``).

    The alias's own parameters, except that behind a pooler the host, port,
    user, password and TLS settings come from ``DATABASE_DIRECT_URL`` when it
    is set, and the startup ``options`` a pooler refuses are gone.
    ``connection`` stands in for ``connections[alias]``.
    """
    wrapper = connection if connection is not None else connections[alias]
    params: dict[str, Any] = dict(wrapper.get_connection_params())
    settings_dict = wrapper.settings_dict
    direct = settings_dict.get(DIRECT_KEY)
    if settings_dict.get(POOLER_KEY) and direct:
        for key in _DIRECT_PARAMS:
            params.pop(key, None)
        params.update(direct)
        timeout_ms = settings_dict.get(TIMEOUT_KEY)
        if timeout_ms is not None:
            params["options"] = f"-c statement_timeout={int(timeout_ms)}"
    return params


def accepts_startup_options(alias: str = DEFAULT_DB_ALIAS, *, connection: BaseDatabaseWrapper | None = None) -> bool:
    """Whether ``session_connection_params(alias)`` reaches a server that takes ``-c name=value`` options."""
    settings_dict = (connection if connection is not None else connections[alias]).settings_dict
    return not settings_dict.get(POOLER_KEY) or bool(settings_dict.get(DIRECT_KEY))


# --- Transaction-local settings -----------------------------------------------------------------


@contextmanager
def transaction_settings(connection: BaseDatabaseWrapper, values: Mapping[str, str]) -> Iterator[None]:
    """Apply ``values`` (``{"lock_timeout": "5000ms"}``) to every transaction ``connection`` starts in the block.

    Behind a pooler this stands in for a session ``SET``, which would stay on
    one server connection and be inherited by other clients.
    """
    set_transaction_settings(connection, values)
    try:
        yield
    finally:
        clear_transaction_settings(connection)


def set_transaction_settings(connection: BaseDatabaseWrapper, values: Mapping[str, str]) -> None:
    """Start applying ``values`` to each transaction; a transaction already open gets them at once."""
    if _in_open_transaction(connection):
        names = list(values)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), names)
            row = cursor.fetchone()
            # Applied twice before a clear (pre_migrate of a nested migrate): restore the first values.
            if getattr(connection, _RESTORE, None) is None:
                setattr(connection, _RESTORE, dict(zip(names, row or (), strict=True)))
            _set_local(cursor, values)
    setattr(connection, _EXTRA_SETTINGS, dict(values))


def clear_transaction_settings(connection: BaseDatabaseWrapper) -> None:
    """Stop applying them; a transaction still open gets back the values it had before."""
    setattr(connection, _EXTRA_SETTINGS, {})
    previous = getattr(connection, _RESTORE, None)
    setattr(connection, _RESTORE, None)
    if previous and _in_open_transaction(connection):
        with connection.cursor() as cursor:
            _set_local(cursor, previous)


def _in_open_transaction(connection: BaseDatabaseWrapper) -> bool:
    raw = connection.connection
    return raw is not None and raw.info.transaction_status == pq.TransactionStatus.INTRANS


def _set_local(cursor: Any, values: Mapping[str, str]) -> None:
    names = list(values)
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names),
        [item for name in names for item in (name, values[name])],
    )


def _settings_for(connection: BaseDatabaseWrapper) -> dict[str, str]:
    values: dict[str, str] = {}
    timeout_ms = connection.settings_dict.get(TIMEOUT_KEY)
    if timeout_ms is not None:
        values["statement_timeout"] = f"{int(timeout_ms)}ms"
    values.update(getattr(connection, _EXTRA_SETTINGS, None) or {})
    return values


ExecuteFunction = Callable[[Any, Any, bool, dict[str, Any]], Any]


def pooler_execute_wrapper(
    execute: ExecuteFunction, sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Prefix the first statement of each transaction with ``set_config(name, value, true)`` of the settings.

    In autocommit every statement is its own transaction, so every statement
    is prefixed; inside ``atomic`` only the one that begins the transaction
    (later ones run in the same transaction on the same server connection).
    """
    connection: BaseDatabaseWrapper = context["connection"]
    raw = connection.connection
    values = _settings_for(connection)
    if not values or raw is None or raw.info.transaction_status != pq.TransactionStatus.IDLE:
        return execute(sql, params, many, context)
    if getattr(context["cursor"], "name", None):
        return execute(sql, params, many, context)
    names = list(values)
    prefix = "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names)
    prefix_params = [item for name in names for item in (name, values[name])]
    if many:
        return _execute_many(execute, sql, params, context, prefix, prefix_params)
    text = sql if isinstance(sql, str) else _as_text(sql, context["cursor"])
    if connection.get_autocommit() and _NO_TRANSACTION_BLOCK.match(text):
        return execute(sql, params, many, context)
    prefixed_sql, prefixed_params = _prefixed(text, params, prefix, prefix_params)
    result = execute(prefixed_sql, prefixed_params, many, context)
    # Leave the cursor on the caller's statement: its rows, rowcount and status.
    while result is not None and result.nextset():
        pass
    return result


def _execute_many(
    execute: ExecuteFunction, sql: Any, params: Any, context: dict[str, Any], prefix: str, prefix_params: list[str]
) -> Any:
    from django.db import transaction

    connection: BaseDatabaseWrapper = context["connection"]
    raw_cursor = context["cursor"].cursor
    if not connection.get_autocommit():
        raw_cursor.execute(prefix, prefix_params)
        return execute(sql, params, True, context)
    with transaction.atomic(using=connection.alias):
        raw_cursor.execute(prefix, prefix_params)
        return execute(sql, params, True, context)


def _as_text(sql: Any, cursor: Any) -> str:
    if hasattr(sql, "as_string"):
        return str(sql.as_string(cursor.connection))
    return bytes(sql).decode()


def _prefixed(sql: str, params: Any, prefix: str, prefix_params: list[str]) -> tuple[str, Any]:
    if params is None:
        # No placeholders in the statement: its % are literal and must be escaped now that there are parameters.
        return f"{prefix}; {sql.replace('%', '%%')}", prefix_params
    if isinstance(params, Mapping):
        named = "SELECT " + ", ".join(
            f"set_config(%(_gc_pooler_n{index})s, %(_gc_pooler_v{index})s, true)"
            for index in range(len(prefix_params) // 2)
        )
        extra = {}
        for index in range(len(prefix_params) // 2):
            extra[f"_gc_pooler_n{index}"] = prefix_params[2 * index]
            extra[f"_gc_pooler_v{index}"] = prefix_params[2 * index + 1]
        return f"{named}; {sql}", {**params, **extra}
    if isinstance(params, Sequence):
        return f"{prefix}; {sql}", [*prefix_params, *params]
    raise TypeError(f"Unsupported query parameters: {type(params).__name__}")


def install_pooler_wrapper(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: put the wrapper on a connection whose alias is behind a pooler.

    It goes first in the list (innermost), like the audit wrapper, so that a
    ``with connection.execute_wrapper(...)`` block opened before the connection
    existed pops its own wrapper, not this one.
    """
    if connection.vendor != "postgresql" or not connection.settings_dict.get(POOLER_KEY):
        return
    if pooler_execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, pooler_execute_wrapper)


# --- The system check ----------------------------------------------------------------------------


def check_pooler_compatibility(
    *, app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Everything in an alias behind a transaction pooler that needs a session the pooler does not keep."""
    from django.conf import settings

    return pooler_problems(settings.DATABASES)


def pooler_problems(databases: Mapping[str, Mapping[str, Any]]) -> list[CheckMessage]:
    """The check's findings for a ``DATABASES`` mapping."""
    messages: list[CheckMessage] = []
    for alias, settings_dict in databases.items():
        pooler = settings_dict.get(POOLER_KEY)
        if pooler:
            messages.extend(_alias_problems(alias, str(pooler), settings_dict))
    return messages


def _alias_problems(alias: str, pooler: str, settings_dict: Mapping[str, Any]) -> Iterator[CheckMessage]:
    options = settings_dict.get("OPTIONS") or {}
    where = f"DATABASES[{alias!r}] is behind {pooler} (transaction pooling)"
    if options.get("options"):
        yield Error(
            f"{where} but sets session options at connect: OPTIONS['options'] = {options['options']!r}.",
            hint="The pooler refuses startup options; set such values per transaction (set_config(..., true)).",
            id="growthcompass.E101",
        )
    if not settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        yield Error(
            f"{where} but DISABLE_SERVER_SIDE_CURSORS is off.",
            hint="A server-side cursor outlives its transaction's server connection; set it to True.",
            id="growthcompass.E102",
        )
    if options.get("prepare_threshold") is not None:
        yield Error(
            f"{where} but OPTIONS['prepare_threshold'] = {options['prepare_threshold']!r}.",
            hint="Prepared statements live on one server connection; set prepare_threshold to None.",
            id="growthcompass.E103",
        )
    if options.get("assume_role"):
        yield Error(
            f"{where} but OPTIONS['assume_role'] runs a session SET ROLE on each new connection.",
            hint="Connect as the role itself (the user in the URL), or SET LOCAL ROLE per transaction.",
            id="growthcompass.E104",
        )
    if alias == DEFAULT_DB_ALIAS and not settings_dict.get(DIRECT_KEY):
        yield Error(
            f"{where} but no direct connection is configured for LISTEN.",
            hint="Set DATABASE_DIRECT_URL to the same database reached without the pooler: the cache "
            "invalidation listener's LISTEN and EXPLAIN need a session of their own.",
            id="growthcompass.E105",
        )
