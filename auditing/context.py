"""Who is acting: the audit context, and how it reaches the audit triggers.

``audit_context(user=..., reason=...)`` names the acting user (and a free-form
context: request path, command, reason) for the code inside it. The triggers
read it from the ``growthcompass.audit_context`` setting, which this module
sets *transaction-locally* (``set_config(..., true)``) by prefixing each
statement sent through Django's cursor with ``SELECT set_config(...);``
(an execute wrapper, installed on every connection from
``AuditingConfig.ready()``).

Why per statement and transaction-local:

- In autocommit mode a multi-statement query string is one implicit
  transaction, so the setting covers exactly the statement it precedes.
- Inside ``transaction.atomic`` it lasts until the next statement re-sets it
  or the transaction ends. Every statement while a context is active
  re-sets it, and once a context has been bound in a transaction every
  context-free statement clears it, so leaving the ``with`` block (or a
  savepoint rollback reverting a clear) cannot attribute later work to the
  wrong user.
- Nothing is ever set at session level, so a connection returned to the
  psycopg pool (which ends any open transaction) carries nothing to the next
  request that borrows it.

The context lives in a ``ContextVar``: each thread (and each asyncio task)
sees its own. Code that talks to the raw psycopg connection (COPY loaders,
for instance) bypasses Django's execute wrappers; inside a transaction it can
call ``bind_audit_context(cursor)`` once to attribute its statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import pq

from auditing.triggers import CONTEXT_SETTING

_SET_CONTEXT_SQL = f"SELECT set_config('{CONTEXT_SETTING}', %s, true); "
_SET_CONTEXT_NAMED_SQL = f"SELECT set_config('{CONTEXT_SETTING}', %(_gc_audit_context)s, true); "
_NAMED_PARAM = "_gc_audit_context"
# Set on a DatabaseWrapper once a context may have been bound in its current transaction.
_MAY_BE_BOUND = "_gc_audit_context_may_be_bound"


class _HasPk(Protocol):
    pk: Any


@dataclass(frozen=True)
class AuditContext:
    """The acting user's id (or ``None``) and the free-form context stored with each change."""

    user_id: int | None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> str:
        """The JSON the triggers parse: ``{"user_id": ..., **details}``."""
        data: dict[str, Any] = dict(self.details)
        if self.user_id is not None:
            data["user_id"] = self.user_id
        return json.dumps(data, default=str, sort_keys=True)


_current: ContextVar[AuditContext | None] = ContextVar("growthcompass_audit_context", default=None)


def current_audit_context() -> AuditContext | None:
    return _current.get()


def _user_id(user: _HasPk | int | None) -> int | None:
    if user is None or isinstance(user, int):
        return user
    if getattr(user, "is_authenticated", True) is False:
        return None
    return int(user.pk)


@contextmanager
def audit_context(
    *,
    user: _HasPk | int | None = None,
    reason: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
    **details: Any,
) -> Iterator[AuditContext]:
    """Attribute every change made inside the block to ``user``, with ``reason`` and ``details``.

    Nested blocks inherit the outer user and details and may override them.
    ``details`` are free-form JSON-serialisable values (``path``, ``command``,
    ...); ``None`` values are dropped. Works in autocommit mode and inside
    ``transaction.atomic``; when entered inside a transaction the context is
    also bound to it at once (so raw-psycopg statements in it see it too).
    """
    parent = _current.get()
    merged: dict[str, Any] = dict(parent.details) if parent else {}
    merged.update({key: value for key, value in {"reason": reason, **details}.items() if value is not None})
    user_id = _user_id(user)
    if user_id is None and parent is not None:
        user_id = parent.user_id
    context = AuditContext(user_id=user_id, details=merged)
    token = _current.set(context)
    connection = connections[using]
    try:
        if _in_transaction(connection):
            _bind(connection, context.payload)
        yield context
    finally:
        _current.reset(token)
        if _in_transaction(connection) and _transaction_usable(connection):
            _bind(connection, parent.payload if parent else "")


def bind_audit_context(cursor: psycopg.Cursor[Any]) -> None:
    """Bind the current context (or none) to the transaction of a raw psycopg ``cursor``.

    For code that writes through the psycopg connection directly, bypassing
    Django's cursor: call it once after the transaction has begun.
    """
    context = _current.get()
    cursor.execute(_SET_CONTEXT_SQL.rstrip("; "), (context.payload if context else "",))


def _in_transaction(connection: BaseDatabaseWrapper) -> bool:
    return connection.connection is not None and not connection.get_autocommit()


def _transaction_usable(connection: BaseDatabaseWrapper) -> bool:
    raw = connection.connection
    return raw is not None and raw.info.transaction_status != pq.TransactionStatus.INERROR


def _bind(connection: BaseDatabaseWrapper, payload: str) -> None:
    setattr(connection, _MAY_BE_BOUND, True)
    with connection.cursor() as cursor:
        # The execute wrapper prefixes this statement too, with the same payload.
        cursor.execute(_SET_CONTEXT_SQL.rstrip("; "), [payload])


# --- The execute wrapper ------------------------------------------------------------------

ExecuteFunction = Callable[[Any, Any, bool, dict[str, Any]], Any]


def audit_execute_wrapper(
    execute: ExecuteFunction, sql: Any, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Prefix the statement with ``set_config`` of the current audit context, when it matters."""
    connection: BaseDatabaseWrapper = context["connection"]
    audit = _current.get()
    in_transaction = not connection.get_autocommit()
    if not in_transaction:
        # Autocommit: nothing survives from the previous statement's transaction.
        setattr(connection, _MAY_BE_BOUND, False)
        if audit is None:
            return execute(sql, params, many, context)
    elif audit is None and not getattr(connection, _MAY_BE_BOUND, False):
        return execute(sql, params, many, context)
    if not _can_prefix(context["cursor"], connection):
        return execute(sql, params, many, context)
    payload = audit.payload if audit else ""
    if in_transaction:
        setattr(connection, _MAY_BE_BOUND, True)
    if many:
        return _execute_many(execute, sql, params, context, payload, in_transaction)
    prefixed_sql, prefixed_params = _prefixed(sql, params, payload, context["cursor"])
    result = execute(prefixed_sql, prefixed_params, many, context)
    # Leave the cursor on the caller's statement: its rows, rowcount and status.
    while result is not None and result.nextset():
        pass
    return result


def _execute_many(
    execute: ExecuteFunction, sql: Any, params: Any, context: dict[str, Any], payload: str, in_transaction: bool
) -> Any:
    """``executemany`` cannot carry a prefix: bind in a statement of its own, in one transaction.

    The set_config goes straight to the psycopg cursor: ``execute`` here is
    Django's executemany, which would treat its parameters as a list of rows.
    """
    from django.db import transaction

    connection: BaseDatabaseWrapper = context["connection"]
    raw_cursor = context["cursor"].cursor
    if in_transaction:
        raw_cursor.execute(_SET_CONTEXT_SQL.rstrip("; "), [payload])
        return execute(sql, params, True, context)
    with transaction.atomic(using=connection.alias):
        setattr(connection, _MAY_BE_BOUND, True)
        raw_cursor.execute(_SET_CONTEXT_SQL.rstrip("; "), [payload])
        return execute(sql, params, True, context)


def _can_prefix(cursor: Any, connection: BaseDatabaseWrapper) -> bool:
    # A named (server-side) cursor wraps its query in DECLARE ... CURSOR, which
    # cannot hold two statements; Django uses them only for reads. A failed
    # transaction accepts only ROLLBACK (TO SAVEPOINT), which must go as is.
    if getattr(cursor, "name", None):
        return False
    return _transaction_usable(connection)


def _prefixed(sql: Any, params: Any, payload: str, cursor: Any) -> tuple[str, Any]:
    if not isinstance(sql, str):
        sql = sql.as_string(cursor.connection) if hasattr(sql, "as_string") else bytes(sql).decode()
    if params is None:
        # The statement had no placeholders, so any % in it is literal; with
        # parameters now present it must be escaped.
        return _SET_CONTEXT_SQL + sql.replace("%", "%%"), [payload]
    if isinstance(params, Mapping):
        return _SET_CONTEXT_NAMED_SQL + sql, {**params, _NAMED_PARAM: payload}
    if isinstance(params, Sequence):
        return _SET_CONTEXT_SQL + sql, [payload, *params]
    raise TypeError(f"Unsupported query parameters: {type(params).__name__}")


def install_audit_wrapper(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: put the wrapper on ``connection`` once.

    It goes first in the list. ``connection.execute_wrapper()`` pops the
    *last* wrapper on exit, so a connection first opened inside somebody
    else's ``with connection.execute_wrapper(...)`` block would otherwise have
    ours removed in place of theirs.
    """
    setattr(connection, _MAY_BE_BOUND, False)
    if connection.vendor != "postgresql":
        return
    if audit_execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, audit_execute_wrapper)
