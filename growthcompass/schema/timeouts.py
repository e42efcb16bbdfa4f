"""Session timeouts while migrations run.

A migration that needs a lock held by live traffic should fail fast rather
than wait: PostgreSQL queues every later query on that table behind the
waiting ``ALTER TABLE``, so one blocked migration stalls the application.
``lock_timeout`` bounds that wait (default 5 s; ``MIGRATION_LOCK_TIMEOUT_MS``
in settings or ``--lock-timeout`` on the commands). ``statement_timeout`` is
lifted (``MIGRATION_STATEMENT_TIMEOUT_MS``, default 0 = none) because the
connection-wide 30 s limit would cancel a legitimate long step such as a
``CREATE INDEX CONCURRENTLY`` on a large table half-way, leaving an invalid
index behind.

The values are session settings (not ``SET LOCAL``) so they also cover
non-atomic migrations. They are applied on ``pre_migrate`` and reset on
``post_migrate``; the ``migrate_*`` commands also reset them when a migration
fails, so a pooled connection never keeps them.

Behind a transaction pooler (``DATABASE_POOLER``) a session setting would stay
on whichever server connection ran it, for other clients to inherit; there the
values are set transaction-locally at the start of every transaction instead
(``growthcompass.db.transaction_settings``). Statements that cannot run
in a transaction block (``CREATE INDEX CONCURRENTLY``) then run under the
server's defaults; migrate with ``DATABASE_URL`` set to the direct URL (and
``DATABASE_POOLER`` unset) to have the session settings cover them too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from growthcompass.db import pooler, transaction_settings

logger = logging.getLogger("growthcompass.schema")

_lock_timeout_override: ContextVar[int | None] = ContextVar("migration_lock_timeout_ms", default=None)


def migration_lock_timeout_ms() -> int:
    override = _lock_timeout_override.get()
    if override is not None:
        return override
    return settings.MIGRATION_LOCK_TIMEOUT_MS


def migration_statement_timeout_ms() -> int:
    return settings.MIGRATION_STATEMENT_TIMEOUT_MS


def apply_migration_timeouts(connection: BaseDatabaseWrapper) -> None:
    """Set the migration ``lock_timeout`` and ``statement_timeout`` on ``connection``'s session."""
    if connection.vendor != "postgresql":
        return
    if pooler.pooler_of(connection.alias):
        transaction_settings.set_transaction_settings(
            connection,
            {
                "lock_timeout": f"{migration_lock_timeout_ms()}ms",
                "statement_timeout": f"{migration_statement_timeout_ms()}ms",
            },
        )
        return
    with connection.cursor() as cursor:
        # set_config() rather than SET: utility statements cannot take bind parameters.
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
            [f"{migration_lock_timeout_ms()}ms", f"{migration_statement_timeout_ms()}ms"],
        )


def reset_migration_timeouts(connection: BaseDatabaseWrapper) -> None:
    """Return both timeouts to the connection's defaults (its ``options``), if it is usable."""
    if connection.vendor == "postgresql" and pooler.pooler_of(connection.alias):
        transaction_settings.clear_transaction_settings(connection)
        return
    if connection.vendor != "postgresql" or connection.connection is None or connection.needs_rollback:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("RESET statement_timeout")
    except DatabaseError:
        # Never mask the error that brought us here; a broken connection is discarded anyway.
        logger.warning("could not reset the migration timeouts on %s", connection.alias, exc_info=True)


@contextmanager
def migration_timeouts(*, using: str = DEFAULT_DB_ALIAS, lock_timeout_ms: int | None = None) -> Iterator[None]:
    """Run migrations (whose ``pre_migrate`` applies the timeouts) and always reset them afterwards."""
    token = _lock_timeout_override.set(lock_timeout_ms)
    try:
        yield
    finally:
        _lock_timeout_override.reset(token)
        reset_migration_timeouts(connections[using])
