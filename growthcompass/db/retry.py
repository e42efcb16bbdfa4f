"""Reconnection with backoff: retried reads, waiting for the database, clear timeouts.

Only reads are retried. A statement that lost its connection may or may not
have run on the server; repeating a write could apply it twice, so a write is
never retried blindly: ``retry_read`` refuses to retry when the attempt routed
a write or when the broken connection was inside a transaction (whose work is
gone with the connection), and re-raises instead.

A statement cancelled by ``statement_timeout`` is not a lost connection: it is
raised at once as ``QueryTimeout`` -- running it again would only time out again.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, overload

import psycopg
import psycopg.errors
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import DatabaseError, InterfaceError, OperationalError
from psycopg_pool import PoolTimeout

from growthcompass.db.exceptions import QueryTimeout
from growthcompass.db.router import current_router, replica_health, writes_routed
from growthcompass.db.router import use_replica as prefer_replica

logger = logging.getLogger("growthcompass.db.retry")

P = ParamSpec("P")
T = TypeVar("T")

# SQLSTATEs that mean "this connection is gone", beyond the whole 08 class
# (connection exception): the server is shutting down or not accepting yet.
_LOST_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03"})

_jitter = random.SystemRandom()


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random.

    The random half spreads out clients that lost the database at the same
    moment so they do not all reconnect in the same instant.
    """
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    return step / 2 + _jitter.uniform(0, step / 2)


def _psycopg_cause(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, psycopg.Error):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def is_statement_timeout(exc: BaseException) -> bool:
    return isinstance(_psycopg_cause(exc), psycopg.errors.QueryCanceled)


def is_connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` means the connection broke or could not be had -- not a bad statement."""
    if not isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError):
        return False
    cause = _psycopg_cause(exc)
    if cause is None:
        return isinstance(exc, InterfaceError)
    if isinstance(cause, PoolTimeout | psycopg.InterfaceError):
        return True
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:
        # Client-side failures (server closed the connection, could not
        # connect) carry no SQLSTATE.
        return isinstance(cause, psycopg.OperationalError)
    return sqlstate.startswith("08") or sqlstate in _LOST_CONNECTION_STATES


def as_query_timeout(exc: BaseException) -> QueryTimeout | None:
    """The ``QueryTimeout`` to raise for a statement cancelled by the server, if ``exc`` is one."""
    cause = _psycopg_cause(exc)
    if not isinstance(cause, psycopg.errors.QueryCanceled):
        return None
    primary = cause.diag.message_primary or str(cause)
    return QueryTimeout(
        f"query cancelled by PostgreSQL ({primary}): every connection has a statement_timeout "
        f"(DB_STATEMENT_TIMEOUT_MS) so a runaway query cannot hold a pooled connection; "
        f"narrow the query or raise the limit"
    )


def _discard_broken_connections() -> list[str]:
    """Return broken connections to their pool; the aliases whose transaction was lost with them."""
    lost_in_transaction = []
    router = current_router()
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is None or not (raw.closed or getattr(raw, "broken", False)):
            continue
        if connection.in_atomic_block:
            lost_in_transaction.append(connection.alias)
            continue
        if router is not None and connection.alias == router.replica_alias:
            replica_health.mark_down(connection.alias, "its connection was lost")
        try:
            connection.close()
        except DatabaseError:  # the pool refuses or discards it: it is gone either way
            connection.connection = None
    return lost_in_transaction


def retry_read(
    func: Callable[[], T],
    *,
    attempts: int | None = None,
    base_delay: float | None = None,
    max_delay: float = 2.0,
) -> T:
    """Call the read-only ``func``; when its connection is lost, reconnect and call it again.

    ``func`` must only read and must return evaluated results (a list, not a
    lazy QuerySet), or the query runs outside the retry. A statement timeout
    raises ``QueryTimeout``; a pool timeout is not retried; the last attempt's
    error propagates unchanged.
    """
    attempts = attempts if attempts is not None else settings.DB_READ_RETRY_ATTEMPTS
    base = base_delay if base_delay is not None else settings.DB_READ_RETRY_BASE_DELAY
    for attempt in range(1, max(1, attempts) + 1):
        writes_before = writes_routed()
        try:
            return func()
        except (OperationalError, InterfaceError) as exc:
            timeout = as_query_timeout(exc)
            if timeout is not None:
                raise timeout from exc
            if not is_connection_lost(exc):
                raise
            if isinstance(_psycopg_cause(exc), PoolTimeout):
                # The pool already waited DB_POOL_TIMEOUT and keeps reconnecting in the
                # background; waiting again would only stretch an overload into a stall.
                raise
            if writes_routed() != writes_before:
                logger.error("connection lost during an operation that wrote; not retrying it: %s", exc)
                raise
            lost_transactions = _discard_broken_connections()
            if lost_transactions:
                logger.error("connection lost inside a transaction on %s; not retrying", ", ".join(lost_transactions))
                raise
            if attempt >= attempts:
                raise
            delay = backoff_delay(attempt, base=base, cap=max_delay)
            logger.warning(
                "database connection lost (%s); retrying the read in %.0f ms (attempt %d of %d)",
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                delay * 1000,
                attempt + 1,
                attempts,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@overload
def retrying_read(func: Callable[P, T], /) -> Callable[P, T]: ...
@overload
def retrying_read(*, use_replica: bool | None = None) -> Callable[[Callable[P, T]], Callable[P, T]]: ...


def retrying_read(func: Callable[P, T] | None = None, /, *, use_replica: bool | None = None) -> Any:
    """Decorate a read-only selector: retried on a lost connection, optionally served by the replica.

    ``@retrying_read(use_replica=True)`` lets the router pick the replica (it
    still falls back to the primary inside a transaction, right after a write,
    or when the replica is down). The selector must return evaluated results.
    """

    def decorate(inner: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(inner)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            if use_replica is None:
                return retry_read(lambda: inner(*args, **kwargs))
            with prefer_replica(use_replica):
                return retry_read(lambda: inner(*args, **kwargs))

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate


@dataclass(frozen=True)
class WaitResult:
    """What ``wait_for_database`` saw: whether the database answered, after how many tries and how long."""

    alias: str
    ok: bool
    attempts: int
    elapsed_s: float
    error: str | None = None


def wait_for_database(
    alias: str = DEFAULT_DB_ALIAS,
    *,
    timeout: float = 30.0,
    base_delay: float = 0.1,
    max_delay: float = 2.0,
    on_retry: Callable[[int, float, str], None] | None = None,
) -> WaitResult:
    """Try to connect to ``alias`` until it answers ``SELECT 1`` or ``timeout`` seconds have passed.

    Connects directly (not through the pool) so each try is one real connection
    attempt, bounded by the remaining time. ``on_retry(attempt, delay, error)``
    is called before each wait.
    """
    params = connections[alias].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    configured_connect_timeout = float(params.pop("connect_timeout", 5) or 5)
    started = time.monotonic()
    deadline = started + max(0.0, timeout)
    attempt = 0
    last_error = ""
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        # libpq's connect_timeout has a granularity of whole seconds and a minimum of 2.
        connect_timeout = max(2, int(min(configured_connect_timeout, max(remaining, 0)) + 0.999))
        try:
            with psycopg.connect(**params, connect_timeout=connect_timeout) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        else:
            return WaitResult(alias=alias, ok=True, attempts=attempt, elapsed_s=time.monotonic() - started)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return WaitResult(
                alias=alias, ok=False, attempts=attempt, elapsed_s=time.monotonic() - started, error=last_error
            )
        delay = min(remaining, backoff_delay(attempt, base=base_delay, cap=max_delay))
        if on_retry is not None:
            on_retry(attempt, delay, last_error)
        time.sleep(delay)
