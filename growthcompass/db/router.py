"""Send reads to the read replica when asked, and everything else to the primary.

Reads go to the ``replica`` alias only when all of these hold:

* a replica is configured (``REPLICA_DATABASE_URL`` adds the alias);
* the caller asked for it: ``use_replica()`` (what ``find_many(...,
  use_replica=True)`` and ``@retrying_read(use_replica=True)`` selectors use);
* the primary connection is not inside a transaction -- a transaction must see
  its own uncommitted writes, which the replica never has;
* this request (or, outside a request, this thread/task) has not written in
  the last ``DB_READ_YOUR_WRITES_SECONDS`` -- replication is asynchronous, so a
  read right after a write could otherwise miss it;
* the replica is reachable. A replica that fails is marked unavailable for
  ``DB_REPLICA_RETRY_SECONDS``; reads meanwhile fall back to the primary with a
  warning in the log, then one caller probes it again.

Writes always go to the primary, and migrations never run on the replica (it
receives schema changes through replication).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model

logger = logging.getLogger("growthcompass.db.router")

REPLICA_DB_ALIAS = "replica"

# None: the caller expressed no preference (Django's default routing applies);
# True: read from the replica if the rules allow; False: read from the primary.
_replica_preference: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "growthcompass_replica_preference", default=None
)
# monotonic time of the last write routed in this context, for read-your-writes.
_last_write_at: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "growthcompass_last_write_at", default=None
)
# Incremented on every routed write; lets a retry tell whether an attempt wrote.
_writes_routed: contextvars.ContextVar[int] = contextvars.ContextVar("growthcompass_writes_routed", default=0)


@contextmanager
def use_replica(enabled: bool = True) -> Iterator[None]:
    """Within the block, reads may go to the replica (``enabled``) or must go to the primary (not)."""
    token = _replica_preference.set(enabled)
    try:
        yield
    finally:
        _replica_preference.reset(token)


@contextmanager
def use_primary() -> Iterator[None]:
    """Within the block, every read goes to the primary."""
    with use_replica(False):
        yield


def note_write() -> None:
    """Record a write in this context: reads stay on the primary for the read-your-writes window."""
    _last_write_at.set(time.monotonic())
    _writes_routed.set(_writes_routed.get() + 1)


def writes_routed() -> int:
    """How many writes were routed in this context (compare before and after to detect one)."""
    return _writes_routed.get()


def wrote_recently() -> bool:
    last = _last_write_at.get()
    if last is None:
        return False
    window = settings.DB_READ_YOUR_WRITES_SECONDS
    return time.monotonic() - last < window


def reset_request_state(**_: Any) -> None:
    """Forget the previous request's writes (connected to ``request_started``/``request_finished``)."""
    _last_write_at.set(None)


# Worker threads serve many requests in one context: a write by one request
# must not pin the next request's reads to the primary.
request_started.connect(reset_request_state, dispatch_uid="growthcompass.db.router.reset_on_start")
request_finished.connect(reset_request_state, dispatch_uid="growthcompass.db.router.reset_on_finish")


class ReplicaHealth:
    """Process-wide memory of a failed replica, so one failure is paid once, not on every read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, float] = {}  # alias -> monotonic time of the last failure or probe

    @staticmethod
    def retry_after() -> float:
        return settings.DB_REPLICA_RETRY_SECONDS

    def is_down(self, alias: str) -> bool:
        with self._lock:
            return alias in self._down

    def mark_down(self, alias: str, reason: object) -> None:
        with self._lock:
            already = alias in self._down
            self._down[alias] = time.monotonic()
        if not already:
            logger.warning(
                "read replica %r is unavailable (%s); reads fall back to the primary, next try in %g s",
                alias,
                reason,
                self.retry_after(),
            )

    def mark_up(self, alias: str) -> None:
        with self._lock:
            was_down = self._down.pop(alias, None) is not None
        if was_down:
            logger.info("read replica %r is reachable again; replica reads resume", alias)

    def claim_probe(self, alias: str) -> bool:
        """True for exactly one caller once the retry time has come; the others keep using the primary."""
        with self._lock:
            last = self._down.get(alias)
            now = time.monotonic()
            if last is None or now - last < self.retry_after():
                return False
            self._down[alias] = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._down.clear()


replica_health = ReplicaHealth()


def _probe(alias: str) -> Exception | None:
    """Open (and close) one direct connection to ``alias``; the error, or None if it answered."""
    params = connections[alias].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    try:
        with psycopg.connect(**params) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return exc
    return None


class PrimaryReplicaRouter:
    """Django database router: see the module docstring for the rules."""

    primary_alias = DEFAULT_DB_ALIAS
    replica_alias = REPLICA_DB_ALIAS

    def replica_configured(self) -> bool:
        return self.replica_alias in connections.settings

    def read_alias(self) -> str | None:
        """The alias a read should use now; None leaves it to Django (an instance's own database)."""
        preference = _replica_preference.get()
        if preference is None:
            return None
        if not preference or not self.replica_configured():
            return self.primary_alias
        if connections[self.primary_alias].in_atomic_block or wrote_recently():
            return self.primary_alias
        if not self._replica_usable():
            return self.primary_alias
        return self.replica_alias

    def _replica_usable(self) -> bool:
        alias = self.replica_alias
        if replica_health.is_down(alias):
            if not replica_health.claim_probe(alias):
                return False
            error = _probe(alias)
            if error is not None:
                return False
            replica_health.mark_up(alias)
        connection = connections[alias]
        if connection.connection is not None:
            # An open connection may have died since; the read's retry handles that.
            return True
        try:
            connection.ensure_connection()
        except DatabaseError as exc:
            replica_health.mark_down(alias, exc)
            return False
        return True

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return self.read_alias()

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        note_write()
        return self.primary_alias

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        ours = {self.primary_alias, self.replica_alias}
        if obj1._state.db in ours and obj2._state.db in ours:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if db == self.replica_alias:
            return False
        return None


def current_router() -> PrimaryReplicaRouter | None:
    """The configured ``PrimaryReplicaRouter`` (or subclass), if any."""
    from django.db import router

    for candidate in router.routers:
        if isinstance(candidate, PrimaryReplicaRouter):
            return candidate
    return None
