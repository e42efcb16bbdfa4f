"""What the cache may do inside a database transaction.

Two rules keep a transaction that rolls back from leaving a trace in the cache:

* a value loaded inside a transaction that has written anything (it may see
  its own uncommitted rows), or that runs above READ COMMITTED (its snapshot
  may predate a commit whose invalidation has already run), is returned but
  never stored;
* rows the transaction wrote through the ORM (noted by the signal handlers of
  ``growthcompass.cache.invalidation``) are read from PostgreSQL, not from the
  cache, until the transaction ends, so the transaction sees its own writes.
  Best effort: raw SQL inside a transaction is not noted, and the notes are
  dropped when a savepoint rolls back; the transaction's cached reads of such
  rows show the committed state until it commits.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from django.db import DEFAULT_DB_ALIAS, connections

from growthcompass.cache.messages import EVERYTHING

_uncommitted = threading.local()


def _transaction_marker(alias: str) -> object:
    # Django gives a connection a new ``run_on_commit`` list whenever a
    # transaction commits or rolls back (or a savepoint rolls back), so the
    # list's identity tells whether the transaction that noted a write is
    # still the one running.
    marker: object = connections[alias].run_on_commit
    return marker


def note_uncommitted_write(invalidation: Mapping[str, frozenset[int] | None], *, using: str) -> None:
    """Remember that this thread's open transaction wrote the rows behind these entries."""
    if using != DEFAULT_DB_ALIAS:
        return  # the cached selectors read the default database only
    marker = _transaction_marker(using)
    written: set[tuple[str, int | None]] | None = getattr(_uncommitted, "written", None)
    if written is None or getattr(_uncommitted, "marker", None) is not marker:
        written = _uncommitted.written = set()
        _uncommitted.marker = marker
    for family, ids in invalidation.items():
        if ids is None:
            written.add((family, None))
        else:
            written.update((family, i) for i in ids)


def has_uncommitted_writes() -> bool:
    return bool(getattr(_uncommitted, "written", None))


def written_in_transaction(family: str, ident: int) -> bool:
    """Did this thread's still-open transaction write the row behind ``family:ident``?"""
    written: set[tuple[str, int | None]] | None = getattr(_uncommitted, "written", None)
    if not written:
        return False
    connection = connections[DEFAULT_DB_ALIAS]
    if not connection.in_atomic_block or _uncommitted.marker is not connection.run_on_commit:
        # That transaction is over (or a savepoint rolled back: the notes are
        # dropped then, and the transaction's cached reads show committed data).
        _uncommitted.written = None
        _uncommitted.marker = None
        return False
    return (family, ident) in written or (family, None) in written or (EVERYTHING, None) in written


def may_store_loaded_values() -> bool:
    """May a value the loader just read be stored in the cache?"""
    connection = connections[DEFAULT_DB_ALIAS]
    if not connection.in_atomic_block:
        return True  # autocommit: the query saw committed rows only, as of its start
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_xact_id_if_assigned() IS NULL"
            " AND current_setting('transaction_isolation') = 'read committed'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])
