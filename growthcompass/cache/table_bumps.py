"""The LISTEN loop's part in cached querysets: table payloads move generations, a (re)connect moves them all.

Kept apart from the loop's family invalidation on purpose: the loop hands
this module the payloads that start with ``~t:`` (``split_table_payloads``)
and tells it when it has (re)connected, nothing more. Notifications sent
while no listener was connected are lost, so a (re)connect moves every
table's generation: no entry stored before it is served after it. A bump
Redis refused is retried on the loop's next idle turn.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError

from growthcompass.cache.generations import TableGenerations
from growthcompass.cache.table_triggers import PAYLOAD_PREFIX, project_models

__all__ = ["TableBumps", "bump_every_table", "split_table_payloads"]

log = logging.getLogger("growthcompass.cache")


def bump_every_table(generations: TableGenerations, also: Iterable[str] = ()) -> int:
    """Move the generation of every project table, of ``also``, and of every table an entry depends on.

    No cached queryset stored before survives it: what a (re)connected listener
    does, and what ``cache_clear --all`` does besides flushing the families.
    """
    return generations.bump_all([*also, *(model._meta.db_table for model in project_models())])


def split_table_payloads(payloads: Iterable[str]) -> tuple[list[str], set[str]]:
    """``(family payloads, tables named by table payloads)``."""
    families: list[str] = []
    tables: set[str] = set()
    for payload in payloads:
        if payload.startswith(PAYLOAD_PREFIX):
            tables.update(t for t in payload[len(PAYLOAD_PREFIX) :].split(",") if t)
        else:
            families.append(payload)
    return families, tables


class TableBumps:
    """Apply table payloads to the generations under a store's prefix; remember what failed."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.everything_pending = False
        self.bumped = 0
        self._generations: tuple[Any, TableGenerations] | None = None

    def _of(self, store: Any) -> TableGenerations:
        if self._generations is None or self._generations[0] is not store:
            self._generations = (store, TableGenerations(store.client, store.prefix, store.keys.queryset_tag))
        return self._generations[1]

    def apply(self, store: Any, tables: Iterable[str]) -> None:
        self.pending.update(tables)
        self.retry(store)

    def reconnected(self, store: Any) -> None:
        self.everything_pending = True
        self.retry(store)

    def retry(self, store: Any) -> None:
        if not (self.pending or self.everything_pending):
            return
        generations = self._of(store)
        tables, self.pending = self.pending, set()
        try:
            if self.everything_pending:
                bump_every_table(generations, also=tables)
                self.everything_pending = False
            else:
                generations.bump(tables)
            self.bumped += 1
        except RedisError as exc:
            self.pending |= tables
            log.warning("cache listener: table generations not moved (%s); retrying", exc)
