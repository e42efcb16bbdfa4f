"""Redis caching that is never stale: cached selectors, invalidation from every write path, statistics.

Modules: ``config`` (CACHES and the CACHE_* settings), ``families`` (key
families and codecs), ``store`` (the two-tier store), ``local`` (the
in-process tier), ``scripts`` (the Lua that makes invalidation race-free),
``messages`` (invalidation payloads), ``transactions`` (what may be cached
inside a transaction), ``invalidation`` (the ORM on-commit path),
``listener`` (the PostgreSQL LISTEN loop), ``stats`` (counters), ``health``
(the ``redis`` check).

The cached selectors themselves live with their models
(``students.selectors``, ``courses.selectors``). This package imports
nothing at import time: ``settings`` imports ``growthcompass.cache.config``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from growthcompass.cache.families import Family
    from growthcompass.cache.messages import Invalidation

T = TypeVar("T")

__all__ = ["cache_get", "cache_get_many", "invalidate"]


def cache_get(family: Family[T], ident: int) -> T | None:
    """The cached value of ``ident`` in ``family`` (loaded and stored on a miss); None if it does not exist."""
    from growthcompass.cache.store import get_store

    return get_store().get(family, ident)


def cache_get_many(family: Family[T], ids: Iterable[int]) -> dict[int, T]:
    """Values of the ``ids`` that exist, in one Redis round trip and at most one query."""
    from growthcompass.cache.store import get_store

    return get_store().get_many(family, ids)


def invalidate(invalidation: Invalidation) -> bool:
    """Invalidate entries now, e.g. ``invalidate({"student": frozenset({42})})``."""
    from growthcompass.cache.store import get_store

    return get_store().invalidate(invalidation)
