"""Warming declared cached querysets: ``manage.py cache_warm`` loads each one's listed parameter sets.

A declared query (``growthcompass.cache.querysets.declare(..., warm=[{...}])``)
names the parameter sets worth having in the cache before the first reader
asks -- after a deploy, a Redis restart, or a bulk load that moved its tables.
Warming reads through the cache like any reader: an entry already there is
left alone, a missing one is loaded once (the stampede lock) and stored
under the same race guard, so warming never stores a stale value either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from growthcompass.cache.querysets import CachedQuery, declared, queryset_cache

__all__ = ["UnknownQuery", "WarmResult", "warm"]


class UnknownQuery(LookupError):
    """A query name that no app declared."""


@dataclass(frozen=True)
class WarmResult:
    query: str
    params: dict[str, Any]
    status: str  # "cached" (was there), "stored", "not stored" (refused, bypassed or uncacheable)


def _warm_one(query: CachedQuery[Any], params: dict[str, Any]) -> WarmResult:
    cache = queryset_cache()
    plan = query._plan_for(cache, params)
    if plan is None:
        return WarmResult(query.name, params, "not stored")
    client = cache.store.client
    if client.exists(plan.key):
        return WarmResult(query.name, params, "cached")
    query(**params)
    return WarmResult(query.name, params, "stored" if client.exists(plan.key) else "not stored")


def warm(names: Iterable[str] = ()) -> list[WarmResult]:
    """Warm the named declared queries (all of them when none is named)."""
    queries = declared()
    wanted = list(names) or list(queries)
    unknown = [name for name in wanted if name not in queries]
    if unknown:
        known = ", ".join(queries) or "none"
        raise UnknownQuery(f"no cached query named {', '.join(unknown)} (declared: {known})")
    return [_warm_one(queries[name], dict(params)) for name in wanted for params in queries[name].warm]
