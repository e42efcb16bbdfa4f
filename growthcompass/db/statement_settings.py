"""Transaction-local settings bound to every statement: one execute wrapper for all of them.

Several features tell PostgreSQL *who is acting* through custom settings that
triggers and policies read with ``current_setting(..., true)``: the audit
context (``growthcompass.audit_context``) and the row-level-security scope
(``growthcompass.rls_kind``, ``growthcompass.rls_user``). Each registers a
``StatementSetting`` here; one execute wrapper, installed on every connection,
prefixes each statement sent through Django's cursor with
``SELECT set_config(name, value, true), ...;`` for all of them at once.

Why per statement and transaction-local:

- In autocommit mode a multi-statement query string is one implicit
  transaction, so the settings cover exactly the statement they precede.
- Inside ``transaction.atomic`` they last until the next statement re-sets
  them or the transaction ends. Every statement while any value is active
  re-sets them all, and once a value has been bound in a transaction every
  value-free statement clears them, so leaving a ``with`` block (or a
  savepoint rollback reverting a clear) cannot attribute later work to the
  wrong user or scope.
- Nothing is ever set at session level, so a connection returned to the
  psycopg pool (which ends any open transaction) carries nothing to the next
  request that borrows it.

Values come from ``ContextVar``s owned by each feature: each thread (and each
asyncio task) sees its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

# Statements PostgreSQL refuses inside a transaction block, which a prefix would make them part of
# (a multi-statement string is one implicit transaction). None of them reads rows through a policy.
_OUTSIDE_TRANSACTIONS = re.compile(
    r"\s*(?:(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE|SUBSCRIPTION)\b|VACUUM\b|ALTER\s+SYSTEM\b"
    r"|(?:CREATE|DROP)\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b|REINDEX\b[^;]*\bCONCURRENTLY\b)",
    re.IGNORECASE,
)
# A statement that must come first in its transaction; the statement after it carries the prefix.
_FIRST_IN_TRANSACTION = re.compile(r"\s*SET\s+TRANSACTION\b", re.IGNORECASE)
# Set on a DatabaseWrapper once a value may have been bound in its current transaction.
_MAY_BE_BOUND = "_gc_statement_settings_may_be_bound"


@dataclass(frozen=True)
class StatementSetting:
    """A custom setting and the function returning its current value (``None``: not active)."""

    name: str
    value: Callable[[], str | None]


_settings: list[StatementSetting] = []
_prefix_sql = ""
_prefix_named_sql = ""


def register_statement_setting(setting: StatementSetting) -> None:
    """Bind ``setting`` with every statement from now on; registering a name twice replaces it."""
    global _prefix_sql, _prefix_named_sql
    if not setting.name.replace("_", "").replace(".", "").isalnum() or "." not in setting.name:
        raise ValueError(f"a custom setting is named prefix.name; got {setting.name!r}")
    _settings[:] = [existing for existing in _settings if existing.name != setting.name]
    _settings.append(setting)
    # Names come from code (validated above), values always go as parameters.
    _prefix_sql = "SELECT " + ", ".join(f"set_config('{s.name}', %s, true)" for s in _settings) + "; "
    _prefix_named_sql = (
        "SELECT " + ", ".join(f"set_config('{s.name}', %(_gc_ss_{i})s, true)" for i, s in enumerate(_settings)) + "; "
    )


def strip_statement_settings(text: str) -> str:
    """``text`` without the wrapper's ``SELECT set_config(...);`` prefix.

    The wrapper runs outermost, so the execute wrappers inside it (query
    tracking, the queryset cache's write notes) see the prefixed statement;
    they read the caller's statement through this.
    """
    for prefix in (_prefix_sql, _prefix_named_sql):
        if prefix and text.startswith(prefix):
            return text[len(prefix) :]
    return text


def current_values() -> list[str] | None:
    """Every registered setting's value ('' for an inactive one), or None when none is active."""
    values = [setting.value() for setting in _settings]
    if all(value is None for value in values):
        return None
    return [value or "" for value in values]


def bind_statement_settings(cursor: psycopg.Cursor[Any]) -> None:
    """Bind the current values (or clear them) in the transaction of a raw psycopg ``cursor``.

    For code that talks to the psycopg connection directly, bypassing Django's
    cursor (COPY loaders): call it once after the transaction has begun.
    """
    if not _settings:
        return
    values = current_values() or [""] * len(_settings)
    cursor.execute(_prefix_sql.rstrip("; "), values)


def bind_now(connection: BaseDatabaseWrapper) -> None:
    """Bind the current values in ``connection``'s open transaction at once (entering a context in one)."""
    if not _settings or not in_transaction(connection) or not transaction_usable(connection):
        return
    setattr(connection, _MAY_BE_BOUND, True)
    # Straight to psycopg: a bookkeeping statement, not one the query tracking should count.
    with connection.connection.cursor() as cursor:
        bind_statement_settings(cursor)


def in_transaction(connection: BaseDatabaseWrapper) -> bool:
    return connection.connection is not None and not connection.get_autocommit()


def transaction_usable(connection: BaseDatabaseWrapper) -> bool:
    raw = connection.connection
    return raw is not None and raw.info.transaction_status != pq.TransactionStatus.INERROR


# --- The execute wrapper ------------------------------------------------------------------

ExecuteFunction = Callable[[Any, Any, bool, dict[str, Any]], Any]


def statement_settings_wrapper(
    execute: ExecuteFunction, sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Prefix the statement with ``set_config`` of every registered setting, when it matters."""
    connection: BaseDatabaseWrapper = context["connection"]
    values = current_values()
    inside = not connection.get_autocommit()
    if not inside:
        # Autocommit: nothing survives from the previous statement's transaction.
        setattr(connection, _MAY_BE_BOUND, False)
        if values is None or (isinstance(sql, str) and _OUTSIDE_TRANSACTIONS.match(sql)):
            return execute(sql, params, many, context)
    elif values is None and not getattr(connection, _MAY_BE_BOUND, False):
        return execute(sql, params, many, context)
    if not _can_prefix(context["cursor"], connection) or (isinstance(sql, str) and _FIRST_IN_TRANSACTION.match(sql)):
        return execute(sql, params, many, context)
    bound = values or [""] * len(_settings)
    if inside:
        setattr(connection, _MAY_BE_BOUND, True)
    if many:
        return _execute_many(execute, sql, params, context, bound, inside)
    prefixed_sql, prefixed_params = _prefixed(sql, params, bound, context["cursor"])
    result = execute(prefixed_sql, prefixed_params, many, context)
    # Leave the cursor on the caller's statement: its rows, rowcount and status.
    while result is not None and result.nextset():
        pass
    return result


def _execute_many(
    execute: ExecuteFunction, sql: Any, params: Any, context: dict[str, Any], values: list[str], inside: bool
) -> Any:
    """``executemany`` cannot carry a prefix: bind in a statement of its own, in one transaction.

    The set_config goes straight to the psycopg cursor: ``execute`` here is
    Django's executemany, which would treat its parameters as a list of rows.
    """
    from django.db import transaction

    connection: BaseDatabaseWrapper = context["connection"]
    raw_cursor = context["cursor"].cursor
    if inside:
        raw_cursor.execute(_prefix_sql.rstrip("; "), values)
        return execute(sql, params, True, context)
    with transaction.atomic(using=connection.alias):
        setattr(connection, _MAY_BE_BOUND, True)
        raw_cursor.execute(_prefix_sql.rstrip("; "), values)
        return execute(sql, params, True, context)


def _can_prefix(cursor: Any, connection: BaseDatabaseWrapper) -> bool:
    # A named (server-side) cursor wraps its query in DECLARE ... CURSOR, which
    # cannot hold two statements; Django uses them only for reads, inside a
    # transaction where the values were bound by an earlier statement. A failed
    # transaction accepts only ROLLBACK (TO SAVEPOINT), which must go as is.
    if getattr(cursor, "name", None):
        return False
    return transaction_usable(connection)


def _prefixed(sql: Any, params: Any, values: list[str], cursor: Any) -> tuple[str, Any]:
    if not isinstance(sql, str):
        sql = sql.as_string(cursor.connection) if hasattr(sql, "as_string") else bytes(sql).decode()
    if params is None:
        # The statement had no placeholders, so any % in it is literal; with
        # parameters now present it must be escaped.
        return _prefix_sql + sql.replace("%", "%%"), values
    if isinstance(params, Mapping):
        named = {f"_gc_ss_{i}": value for i, value in enumerate(values)}
        return _prefix_named_sql + sql, {**params, **named}
    if isinstance(params, Sequence):
        return _prefix_sql + sql, [*values, *params]
    raise TypeError(f"Unsupported query parameters: {type(params).__name__}")


def install_statement_settings_wrapper(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: put the wrapper on ``connection`` once.

    It goes first in the list. ``connection.execute_wrapper()`` pops the
    *last* wrapper on exit, so a connection first opened inside somebody
    else's ``with connection.execute_wrapper(...)`` block would otherwise have
    ours removed in place of theirs.
    """
    setattr(connection, _MAY_BE_BOUND, False)
    if connection.vendor != "postgresql":
        return
    if statement_settings_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, statement_settings_wrapper)
