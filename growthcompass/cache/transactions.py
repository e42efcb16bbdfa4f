"""What the cache may do inside a database transaction.

Two rules keep a transaction that rolls back from leaving a trace in the cache:

* a value loaded inside a transaction that has written anything (it may see
  its own uncommitted rows), or that runs above READ COMMITTED (its snapshot
  may predate a commit whose invalidation has already run), is returned but
  never stored;
* rows the transaction wrote through the ORM (noted by the signal handlers of
  ``growthcompass.cache.invalidation``) are read from PostgreSQL, not from the
  cache, until the transaction ends, so the transaction sees its own writes.
  (Raw SQL inside a transaction is not noted: the transaction's cached reads
  show the committed state until it commits.)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from django.db import DEFAULT_DB_ALIAS, connections

from growthcompass.cache.messages import EVERYTHING

_uncommitted = threading.local()


def note_uncommitted_write(invalidation: Mapping[str, frozenset[int] | None]) -> None:
    """Remember that this thread's open transaction wrote the rows behind these entries."""
    written: set[tuple[str, int | None]] | None = getattr(_uncommitted, "written", None)
    if written is None:
        written = _uncommitted.written = set()
    for family, ids in invalidation.items():
        if ids is None:
            written.add((family, None))
        else:
            written.update((family, i) for i in ids)


def forget_uncommitted_writes() -> None:
    _uncommitted.written = None


def has_uncommitted_writes() -> bool:
    return bool(getattr(_uncommitted, "written", None))


def written_in_transaction(family: str, ident: int) -> bool:
    """Did this thread's still-open transaction write the row behind ``family:ident``?"""
    written: set[tuple[str, int | None]] | None = getattr(_uncommitted, "written", None)
    if not written:
        return False
    if not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        # The transaction ended; a rollback leaves no other trace to clear this by.
        _uncommitted.written = None
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
