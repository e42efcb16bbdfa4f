"""Redis caching that is never stale: cached selectors, invalidation from every write path, statistics.

The public API is this package's ``__all__``. Apps declare their families in
their own ``cache.py`` with ``register(Family(...), written_by=[WrittenBy(...)])``
(``registry``) and read them through ``get_store()`` (this process's
``CacheStore``: ``get``, ``get_many``, ``invalidate`` ...); ``reset_store()``,
``build_store()`` for a second store (another process, in tests and
benchmarks), ``run_as_dedicated_listener()``, and ``invalidate`` /
``invalidate_on_commit`` for explicit invalidation. The names are looked up
lazily, on first use, because ``settings`` imports ``growthcompass.cache.config``
and this package must import nothing then; after that they are the modules'
own objects, with no wrapper on the read path.

Modules, each depending only on those listed before it:

* ``config`` -- CACHES and the CACHE_* settings; ``families`` -- key families
  and codecs; ``registry`` -- the declared families and the writes that
  invalidate them; ``triggers`` -- the NOTIFY triggers generated from them;
  ``messages`` -- invalidation payloads; ``scripts`` -- the Lua that makes
  invalidation race-free; ``transactions`` -- what may be cached inside a
  transaction; ``local`` -- the in-process tier;
* ``counters`` -- this process's counts; ``breaker`` -- the Redis circuit
  breaker; ``keys`` -- every key, and the hash tags a Redis Cluster needs;
  ``failover`` -- a changed server noticed and treated like a restart;
  ``cluster`` -- django-redis on ``RedisCluster`` (docs/deployment-redis.md);
  ``pending`` -- replay of invalidations Redis missed; ``stats`` --
  the statistics report; ``listen_loop`` -- the PostgreSQL LISTEN loop;
* ``store`` -- ``CacheStore``, the two-tier store (reads, fills, invalidations);
* ``runtime`` -- this process's store, fork and exit handling, whether the
  LISTEN loop runs in process;
* ``listener`` -- the loop on this process's store (``manage.py cache_listener``);
  ``invalidation`` -- the ORM on-commit path, generated from the registry;
  ``health`` -- the ``redis`` check.

Cached querysets (``cached``, ``cached_count``, ``cached_aggregate``,
``declare``; docs/querysets.md): ``table_triggers`` -- the trigger on every
project table; ``generations`` -- per-table generations and the guarded fill;
``dependencies`` -- the tables a query reads; ``table_bumps`` -- the LISTEN
loop's hook for table payloads; ``querysets`` -- the API and this process's
write notes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from growthcompass.cache.dependencies import derived_table
    from growthcompass.cache.families import Family, PickleCodec, RowCodec, RowsCodec
    from growthcompass.cache.invalidation import invalidate, invalidate_on_commit
    from growthcompass.cache.querysets import UncacheableQuery, cached, cached_aggregate, cached_count, declare
    from growthcompass.cache.registry import WrittenBy, register
    from growthcompass.cache.runtime import (
        build_store,
        get_store,
        reset_store,
        run_as_dedicated_listener,
        start_server_listener,
    )
    from growthcompass.cache.store import CacheStore

__all__ = [
    "CacheStore",
    "Family",
    "PickleCodec",
    "RowCodec",
    "RowsCodec",
    "UncacheableQuery",
    "WrittenBy",
    "build_store",
    "cached",
    "cached_aggregate",
    "cached_count",
    "declare",
    "derived_table",
    "get_store",
    "invalidate",
    "invalidate_on_commit",
    "register",
    "reset_store",
    "run_as_dedicated_listener",
    "start_server_listener",
]

_HOMES = {
    "CacheStore": "store",
    "Family": "families",
    "PickleCodec": "families",
    "RowCodec": "families",
    "RowsCodec": "families",
    "WrittenBy": "registry",
    "register": "registry",
    "build_store": "runtime",
    "get_store": "runtime",
    "reset_store": "runtime",
    "run_as_dedicated_listener": "runtime",
    "start_server_listener": "runtime",
    "invalidate": "invalidation",
    "invalidate_on_commit": "invalidation",
    "UncacheableQuery": "querysets",
    "cached": "querysets",
    "cached_aggregate": "querysets",
    "cached_count": "querysets",
    "declare": "querysets",
    "derived_table": "dependencies",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"growthcompass.cache.{home}"), name)
    globals()[name] = value  # looked up once
    return value
