"""Settings sent with every transaction instead of once per session, for connections behind a transaction pooler.

Behind PgBouncer in ``pool_mode = transaction`` a session ``SET`` stays on
whichever server connection ran it, for other clients to inherit, and a
startup ``options`` parameter is refused. So the connection's
``statement_timeout`` (and, while migrating, ``lock_timeout``) is set with
``set_config(name, value, true)`` -- transaction-local -- in front of the
first statement of every transaction. In autocommit every statement is its own
transaction and carries the prefix; a multi-statement query string is one
implicit transaction, so the setting covers exactly that statement.

It is done in the psycopg cursor class (``PoolerCursor``, the alias's
``cursor_factory``), below Django's execute wrappers: the audit context and
the queryset cache's write notes still see the statement as written, and raw
psycopg cursors of the same connection (COPY loaders) are covered too.

Statements PostgreSQL refuses inside a transaction block (``CREATE DATABASE``,
``CREATE INDEX CONCURRENTLY``, ``VACUUM``, ...) go unprefixed in autocommit and
run under the server's defaults. ``SET TRANSACTION`` must come first in its
transaction, so the statement after it carries the prefix. ``executemany``
outside a transaction cannot carry one (each row commits on its own) and runs
under the server's defaults; inside ``atomic`` it is covered.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

# The client-side-binding cursor Django uses with psycopg 3 (django-stubs do not declare it).
from django.db.backends.postgresql.base import Cursor as DjangoCursor  # type: ignore[attr-defined]
from psycopg import pq

_NO_TRANSACTION_BLOCK = re.compile(
    r"^\s*(?:(?:CREATE|DROP|ALTER)\s+(?:DATABASE|TABLESPACE)|VACUUM|ALTER\s+SYSTEM|"
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY|DROP\s+INDEX\s+CONCURRENTLY|REINDEX\b.*\bCONCURRENTLY|"
    r"REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY|CLUSTER\b|CHECKPOINT\b|"
    r"COMMIT\b|ROLLBACK\b|BEGIN\b|START\s+TRANSACTION|END\b|SAVEPOINT\b|RELEASE\b|PREPARE\s+TRANSACTION)",
    re.IGNORECASE | re.DOTALL,
)
_FIRST_IN_TRANSACTION = re.compile(r"^\s*SET\s+(?:TRANSACTION|SESSION\s+CHARACTERISTICS)\b", re.IGNORECASE)


@dataclass
class _State:
    """What one psycopg connection sends with each transaction."""

    statement_timeout_ms: int | None
    extra: dict[str, str] = field(default_factory=dict)
    restore: dict[str, str] | None = None
    stamp_next: bool = False

    def values(self) -> dict[str, str]:
        values = {} if self.statement_timeout_ms is None else {"statement_timeout": f"{self.statement_timeout_ms}ms"}
        values.update(self.extra)
        return values


_states: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()


class PoolerCursor(DjangoCursor):
    """Django's client-side-binding cursor, sending the connection's settings with each transaction's first statement.

    ``cursor_class(timeout_ms)`` makes the subclass an alias uses.
    """

    statement_timeout_ms: int | None = None

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        prefix = self._prefix_for(query)
        if prefix is None:
            return super().execute(query, params, **kwargs)
        sql, sql_params = _prefixed(_text(query, self), params, *prefix)
        super().execute(sql, sql_params, **kwargs)
        # Leave the cursor on the caller's statement: its rows, rowcount and status.
        while self.nextset():
            pass
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        state = _state(self.connection, type(self).statement_timeout_ms)
        values = state.values()
        if values and not self.connection.autocommit and self._starts_transaction(state):
            super().execute(*_prefix(values))
        return super().executemany(query, params_seq, **kwargs)

    def _starts_transaction(self, state: _State) -> bool:
        status = self.connection.info.transaction_status
        if status == pq.TransactionStatus.IDLE:
            state.stamp_next = False
            return True
        if status == pq.TransactionStatus.INTRANS and state.stamp_next:
            state.stamp_next = False
            return True
        return False

    def _prefix_for(self, query: Any) -> tuple[str, list[str]] | None:
        state = _state(self.connection, type(self).statement_timeout_ms)
        values = state.values()
        if not values or not self._starts_transaction(state):
            return None
        text = _text(query, self)
        if not text.strip():
            return None
        if self.connection.autocommit:
            if _NO_TRANSACTION_BLOCK.match(text):
                return None
        elif _FIRST_IN_TRANSACTION.match(text):
            # SET TRANSACTION ISOLATION LEVEL must precede any query: the next statement carries the settings.
            state.stamp_next = True
            return None
        return _prefix(values)


def cursor_class(statement_timeout_ms: int | None) -> type[PoolerCursor]:
    """The ``cursor_factory`` of an alias behind a pooler, with its ``statement_timeout``."""
    return type("PoolerCursor", (PoolerCursor,), {"statement_timeout_ms": statement_timeout_ms})


def _state(raw: Any, statement_timeout_ms: int | None) -> _State:
    state = _states.get(raw)
    if state is None:
        state = _states[raw] = _State(statement_timeout_ms)
    return state


def _prefix(values: Mapping[str, str]) -> tuple[str, list[str]]:
    names = list(values)
    sql = "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names)
    return sql, [item for name in names for item in (name, values[name])]


def _text(query: Any, cursor: Any) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode()
    return str(query.as_string(cursor))


def _prefixed(sql: str, params: Any, prefix: str, prefix_params: list[str]) -> tuple[str, Any]:
    if params is None:
        # No placeholders in the statement: its % are literal and must be escaped now that there are parameters.
        return f"{prefix}; {sql.replace('%', '%%')}", prefix_params
    if isinstance(params, Mapping):
        pairs = len(prefix_params) // 2
        named = "SELECT " + ", ".join(f"set_config(%(_gc_n{i})s, %(_gc_v{i})s, true)" for i in range(pairs))
        extra = {f"_gc_n{i}": prefix_params[2 * i] for i in range(pairs)}
        extra.update({f"_gc_v{i}": prefix_params[2 * i + 1] for i in range(pairs)})
        return f"{named}; {sql}", {**params, **extra}
    if isinstance(params, Sequence):
        return f"{prefix}; {sql}", [*prefix_params, *params]
    raise TypeError(f"Unsupported query parameters: {type(params).__name__}")


# --- Extra settings for a while (the migration timeouts) ----------------------------------------


def _cursor_state(connection: BaseDatabaseWrapper) -> _State | None:
    connection.ensure_connection()
    factory = connection.connection.cursor_factory if connection.connection is not None else None
    if not (isinstance(factory, type) and issubclass(factory, PoolerCursor)):
        return None
    return _state(connection.connection, factory.statement_timeout_ms)


@contextmanager
def transaction_settings(connection: BaseDatabaseWrapper, values: Mapping[str, str]) -> Iterator[None]:
    """Send ``values`` (``{"lock_timeout": "5000ms"}``) with every transaction ``connection`` runs in the block."""
    set_transaction_settings(connection, values)
    try:
        yield
    finally:
        clear_transaction_settings(connection)


def set_transaction_settings(connection: BaseDatabaseWrapper, values: Mapping[str, str]) -> None:
    """Start sending ``values`` with each transaction; a transaction already open gets them at once."""
    state = _cursor_state(connection)
    if state is None:
        return
    if _in_open_transaction(connection):
        names = list(values)
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), names)
            row = cursor.fetchone()
            # Applied twice before a clear (pre_migrate of a nested migrate): restore the first values.
            if state.restore is None:
                state.restore = dict(zip(names, row or (), strict=True))
            cursor.execute(*_prefix(values))
    state.extra = dict(values)


def clear_transaction_settings(connection: BaseDatabaseWrapper) -> None:
    """Stop sending them; a transaction still open gets back the values it had before."""
    if connection.connection is None:
        return
    state = _cursor_state(connection)
    if state is None:
        return
    state.extra = {}
    previous, state.restore = state.restore, None
    if previous and _in_open_transaction(connection):
        with connection.cursor() as cursor:
            cursor.execute(*_prefix(previous))


def _in_open_transaction(connection: BaseDatabaseWrapper) -> bool:
    raw = connection.connection
    return raw is not None and raw.info.transaction_status == pq.TransactionStatus.INTRANS
