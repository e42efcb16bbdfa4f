"""Redis caching that is never stale: cached selectors, invalidation from every write path, statistics.

The public API is this package's ``__all__``: ``get_store()`` (this process's
``CacheStore``; ``get``, ``get_many``, ``invalidate`` ...), ``reset_store()``,
``build_store()`` for a second store (another process, in tests and
benchmarks) and ``run_as_dedicated_listener()``. The names are looked up
lazily, on first use, because ``settings`` imports ``growthcompass.cache.config``
and this package must import nothing then; after that they are the runtime's
own functions, with no wrapper on the read path.

Modules, each depending only on those listed before it:

* ``config`` -- CACHES and the CACHE_* settings; ``families`` -- key families
  and codecs; ``messages`` -- invalidation payloads; ``scripts`` -- the Lua
  that makes invalidation race-free; ``transactions`` -- what may be cached
  inside a transaction; ``local`` -- the in-process tier;
* ``counters`` -- this process's counts; ``breaker`` -- the Redis circuit
  breaker; ``pending`` -- replay of invalidations Redis missed; ``stats`` --
  the statistics report; ``listen_loop`` -- the PostgreSQL LISTEN loop;
* ``store`` -- ``CacheStore``, the two-tier store (reads, fills, invalidations);
* ``runtime`` -- this process's store, fork and exit handling, whether the
  LISTEN loop runs in process;
* ``listener`` -- the loop on this process's store (``manage.py cache_listener``);
  ``invalidation`` -- the ORM on-commit path; ``health`` -- the ``redis`` check.

The cached selectors themselves live with their models
(``students.selectors``, ``courses.selectors``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from growthcompass.cache.runtime import build_store, get_store, reset_store, run_as_dedicated_listener
    from growthcompass.cache.store import CacheStore

__all__ = ["CacheStore", "build_store", "get_store", "reset_store", "run_as_dedicated_listener"]

_FROM_RUNTIME = frozenset({"build_store", "get_store", "reset_store", "run_as_dedicated_listener"})


def __getattr__(name: str) -> Any:
    if name in _FROM_RUNTIME:
        from growthcompass.cache import runtime

        value: Any = getattr(runtime, name)
    elif name == "CacheStore":
        from growthcompass.cache.store import CacheStore

        value = CacheStore
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value
