"""The PostgreSQL side of invalidation: LISTEN for the triggers' NOTIFYs and invalidate.

The loop applies what arrives to the store it is given (``InvalidationTarget``);
``growthcompass.cache.listener`` runs it on the process's store, as
``manage.py cache_listener`` does, and ``CacheStore.start_listener`` runs it
as a daemon thread of an app process (``CACHE_LISTENER_IN_PROCESS``). It holds one dedicated connection -- not
one from Django's pool: a pooled connection would be handed to requests, and
a LISTENing session must keep reading or the server's notification queue
fills.

Notifications sent while no listener was connected are lost. A listener
that (re)connects therefore invalidates everything -- unless another listener
has been LISTENing throughout: each listener announces, in its Redis
heartbeat, the PostgreSQL session it listens on (backend pid and start time),
written only once it is listening and has settled what came before; when such
a session is still alive in ``pg_stat_activity`` and its heartbeat is fresh,
every notification since that listener connected reached it, and whatever came
before was settled by it, so nothing can have been missed (``covered_by``).
After that, each batch of notifications (all that arrived together) becomes
one invalidation script call. Connection failures are retried with exponential
backoff and jitter; a listener that stops removes its heartbeat.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import psycopg
from django.db import DEFAULT_DB_ALIAS
from psycopg import sql

from growthcompass.cache.messages import Invalidation, merge_into, parse_message
from growthcompass.cache.table_bumps import TableBumps, split_table_payloads
from growthcompass.db.pooler import session_connection_params

__all__ = [
    "APPLICATION_NAME",
    "CHANNEL",
    "InvalidationTarget",
    "ListenLoop",
    "covered_by",
    "listener_connection_params",
    "session_of",
]

log = logging.getLogger("growthcompass.cache")

CHANNEL = "gc_cache"
APPLICATION_NAME = "growthcompass-cache-listener"


def listener_connection_params(alias: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """Connection parameters of Django's ``alias``, for a connection of our own."""
    # Behind a transaction pooler, LISTEN must bypass it (DATABASE_DIRECT_URL): a pooled
    # session's LISTEN would sit on a server connection shared with other clients.
    params: dict[str, Any] = session_connection_params(alias)
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    params["application_name"] = APPLICATION_NAME
    # A half-open TCP connection would otherwise wait for notifications forever.
    params.setdefault("keepalives", 1)
    params.setdefault("keepalives_idle", 30)
    params.setdefault("keepalives_interval", 10)
    params.setdefault("keepalives_count", 3)
    return params


class InvalidationTarget(Protocol):
    """What the loop needs of a store (``CacheStore`` is one)."""

    def invalidate(self, invalidation: Invalidation) -> bool: ...

    def flush_all(self) -> bool: ...

    def retry_pending(self) -> bool: ...

    def heartbeat(self, listener_id: str, ttl_s: int = 15, session: str = "") -> None: ...

    def listener_sessions(self) -> dict[str, str]: ...

    def forget_listener(self, listener_id: str) -> None: ...


def session_of(conn: psycopg.Connection[Any]) -> str:
    """``"<backend pid>@<backend start as epoch seconds>"``: a session, told apart from a later one with its pid."""
    row = conn.execute(
        "SELECT pid, extract(epoch FROM backend_start)::text FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    ).fetchone()
    return f"{row[0]}@{row[1]}" if row else ""


def covered_by(conn: psycopg.Connection[Any], sessions: dict[str, str], *, own_id: str) -> str | None:
    """A live listener, other than ``own_id``, whose announced session is still connected; ``None`` if none.

    ``sessions`` maps each fresh heartbeat to the session it announced. The
    session must still be in ``pg_stat_activity`` with the same start time:
    a listener that lost its connection and has not yet come back (its
    heartbeat not yet expired) covers nothing.
    """
    candidates: dict[tuple[int, str], str] = {}
    for listener_id, session in sessions.items():
        pid, _, started = session.partition("@")
        if listener_id != own_id and pid.isdigit() and started:
            candidates[(int(pid), started)] = listener_id
    if not candidates:
        return None
    rows = conn.execute(
        "SELECT pid, extract(epoch FROM backend_start)::text FROM pg_stat_activity"
        " WHERE pid = ANY(%s) AND application_name = %s",
        [sorted({pid for pid, _ in candidates}), APPLICATION_NAME],
    ).fetchall()
    for pid, started in rows:
        if (pid, started) in candidates:
            return candidates[(pid, started)]
    return None


class ListenLoop:
    """LISTEN on ``gc_cache`` and apply what arrives to ``store_factory()``; ``run`` blocks until ``stop``."""

    def __init__(
        self,
        *,
        store_factory: Callable[[], InvalidationTarget],
        params: dict[str, Any] | None = None,
        alias: str = DEFAULT_DB_ALIAS,
        backoff_max_s: float = 10.0,
        heartbeat_s: float = 5.0,
        idle_check_s: float = 30.0,
        on_batch: Callable[[Invalidation, int], None] | None = None,
        on_ready: Callable[[ListenLoop], None] | None = None,
        on_tables: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.store_factory = store_factory
        self._params = params
        self.alias = alias
        self.backoff_max_s = backoff_max_s
        self.heartbeat_s = heartbeat_s
        self.idle_check_s = idle_check_s
        self.on_batch = on_batch
        self.on_ready = on_ready
        # Told which tables' generations moved (an empty set: all of them, after a reconnect).
        self.on_tables = on_tables
        self.stop_event = threading.Event()
        # Set while connected, listening, and done with the initial flush.
        self.ready = threading.Event()
        self.connections = 0
        # Connection attempts that failed (the database unreachable): retried with backoff.
        self.failed_connects = 0
        # Connections that began by invalidating everything (no other listener covered the gap).
        self.full_flushes = 0
        self.notifications = 0
        self.backend_pid: int | None = None
        self.listener_id = f"{socket.gethostname()}:{id(self):x}"
        # Cached querysets' table generations (payloads "~t:<table>"): see growthcompass.cache.table_bumps.
        self.tables = TableBumps()

    @property
    def _heartbeat_ttl_s(self) -> int:
        return int(self.heartbeat_s * 3) + 1

    def stop(self) -> None:
        self.stop_event.set()

    def run_in_thread(self) -> threading.Thread:
        """Start ``run`` in a daemon thread (stop it with ``stop``) and return the thread."""
        thread = threading.Thread(target=self.run, name="cache-invalidation-listener", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        try:
            self._run()
        finally:
            self._forget()

    def _forget(self) -> None:
        """Withdraw the heartbeat at once, so no other listener relies on a connection that is gone."""
        try:
            self.store_factory().forget_listener(self.listener_id)
        except Exception:
            log.debug("cache listener: could not withdraw heartbeat", exc_info=True)

    def _run(self) -> None:
        backoff = 0.1
        last_warning = float("-inf")
        while not self.stop_event.is_set():
            try:
                params = self._params if self._params is not None else listener_connection_params(self.alias)
                with psycopg.connect(**params, autocommit=True) as conn:
                    backoff = 0.1
                    self._serve(conn)
            except psycopg.Error as exc:
                self.failed_connects += 1
                now = time.monotonic()
                if now - last_warning >= 60:
                    last_warning = now
                    log.warning("cache listener: PostgreSQL connection failed (%s); reconnecting", exc)
            except Exception:
                # Never let a surprise end invalidation for good: log it and start over.
                log.exception("cache listener: unexpected error; reconnecting")
            finally:
                self.ready.clear()
                self.backend_pid = None
            if self.stop_event.is_set():
                break
            self._forget()
            self.stop_event.wait(backoff * (1 + random.random() / 2))  # noqa: S311 - jitter, not crypto
            backoff = min(backoff * 2, self.backoff_max_s)

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        self.backend_pid = conn.info.backend_pid
        self.connections += 1
        session = session_of(conn)
        store = self.store_factory()
        covering = covered_by(conn, store.listener_sessions(), own_id=self.listener_id)
        if covering is None:
            # Whatever was committed while nobody listened was never announced.
            store.flush_all()
            # ... and no cached queryset may outlive a table write nobody announced.
            self.tables.reconnected(store)
            self.full_flushes += 1
            if self.on_tables is not None:
                self.on_tables(set())
        # Announced only now: from here on, what this listener has not seen was settled.
        store.heartbeat(self.listener_id, ttl_s=self._heartbeat_ttl_s, session=session)
        self.ready.set()
        log.info(
            "cache listener: listening on %s (backend pid %s); %s",
            CHANNEL,
            self.backend_pid,
            "every entry invalidated" if covering is None else f"nothing missed (listener {covering} stayed up)",
        )
        if self.on_ready is not None:
            self.on_ready(self)
        next_heartbeat = time.monotonic() + self.heartbeat_s
        last_activity = time.monotonic()
        while not self.stop_event.is_set():
            payloads = [n.payload for n in conn.notifies(timeout=0.5, stop_after=1)]
            store = self.store_factory()
            now = time.monotonic()
            if payloads:
                # Everything that arrived with the first one goes in the same batch.
                payloads.extend(n.payload for n in conn.notifies(timeout=0))
                family_payloads, tables = split_table_payloads(payloads)
                if tables:
                    self.tables.apply(store, tables)
                    if self.on_tables is not None:
                        self.on_tables(tables)
                invalidation: Invalidation = {}
                for payload in family_payloads:
                    merge_into(invalidation, parse_message(payload))
                store.invalidate(invalidation)
                self.notifications += len(family_payloads)
                last_activity = now
                if self.on_batch is not None:
                    self.on_batch(invalidation, len(family_payloads))
            else:
                store.retry_pending()
                self.tables.retry(store)
                if now - last_activity >= self.idle_check_s:
                    conn.execute("SELECT 1")  # a dead server shows itself here
                    last_activity = now
            if now >= next_heartbeat:
                store.heartbeat(self.listener_id, ttl_s=self._heartbeat_ttl_s, session=session)
                next_heartbeat = now + self.heartbeat_s
