"""Redis caching that is never stale: cached selectors, invalidation from every write path, statistics.

Apps declare their families in their own ``cache.py`` with ``register``
(``growthcompass.cache.registry``) and read them through ``get_store()``.
The names below are the public API; they load lazily because ``settings``
imports ``growthcompass.cache.config`` before Django is set up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from growthcompass.cache.families import Family, PickleCodec, RowCodec, RowsCodec
    from growthcompass.cache.invalidation import invalidate, invalidate_on_commit
    from growthcompass.cache.registry import WrittenBy, register
    from growthcompass.cache.store import get_store

__all__ = [
    "Family",
    "PickleCodec",
    "RowCodec",
    "RowsCodec",
    "WrittenBy",
    "get_store",
    "invalidate",
    "invalidate_on_commit",
    "register",
]

_HOMES = {
    "Family": "families",
    "PickleCodec": "families",
    "RowCodec": "families",
    "RowsCodec": "families",
    "WrittenBy": "registry",
    "register": "registry",
    "get_store": "store",
    "invalidate": "invalidation",
    "invalidate_on_commit": "invalidation",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'growthcompass.cache' has no attribute {name!r}")
    return getattr(importlib.import_module(f"growthcompass.cache.{home}"), name)
