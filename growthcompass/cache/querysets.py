"""Cache any queryset, invalidated by table from the database: ``cached``, ``cached_count``, ``declare``.

::

    from growthcompass.cache.querysets import cached, cached_count, declare

    rows = cached(Student.objects.filter(grade_level=5).select_related("user"), ttl=300)
    n = cached_count(Enrollment.objects.filter(status="active"))

    ACTIVE_BY_GRADE = declare("active_by_grade", lambda grade: Student.objects.filter(grade_level=grade), ttl=300)
    ACTIVE_BY_GRADE(grade=5)      # a hit: one GET, no SQL compiled

The value is the evaluated result -- model instances (with their
``select_related`` and ``prefetch_related`` objects), ``values()`` dicts,
``values_list()`` tuples, a count or an aggregate dict -- pickled into one
Redis key named by a hash of the compiled SQL, its parameters, the result's
shape, the database alias and the cache prefix and version. ``cached``
compiles the queryset's SQL on every call to find its key; a ``declare``d
query compiles once per parameter set and process, so its hit is a dict
lookup, one ``GET`` and the unpickling.

The entry depends on every table its statements read
(``growthcompass.cache.dependencies``) and is deleted when any of them moves
(``growthcompass.cache.generations``): on the trigger's NOTIFY for every
committed write, whatever wrote it, and -- for immediacy -- on commit of this
process's own writes through Django's connections (``WriteNotes``, an
execute wrapper on every connection), so the writer's next read already
misses.

Never cached, with the reason:

* raises ``UncacheableQuery``: ``select_for_update``, a database alias other
  than ``default`` (a replica lags its invalidations), SQL calling a volatile
  function (``now()``, ``random()``, ...);
* served from PostgreSQL and not stored (a warning names the reason once):
  a statement that reads a relation no trigger announces;
* served from PostgreSQL, not read from nor stored in Redis: inside a
  transaction that has written anything or runs above READ COMMITTED (one
  extra query decides it), Redis unavailable, or a table bump of this
  process not yet applied.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import pickle
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Prefetch, QuerySet
from django.db.models.signals import post_migrate
from redis.exceptions import RedisError

from growthcompass.cache.counters import BYPASSED, GLOBAL, HITS, INVALIDATIONS, MISSES, REFUSED, STORES, WAITS
from growthcompass.cache.dependencies import (
    catalog,
    forget_catalogs,
    recording,
    statement_text,
    volatile_function,
)
from growthcompass.cache.generations import TableGenerations
from growthcompass.cache.runtime import get_store
from growthcompass.cache.stats import TABLE_PREFIX
from growthcompass.cache.store import CacheStore

__all__ = [
    "CachedQuery",
    "UncacheableQuery",
    "WriteNotes",
    "bump_tables",
    "cached",
    "cached_aggregate",
    "cached_count",
    "connect_write_notes",
    "declare",
    "declared",
]

log = logging.getLogger("growthcompass.cache")

T = TypeVar("T")
DEFAULT_TTL_S = 300
ROWS, COUNT, AGGREGATE = "rows", "count", "aggregate"


class UncacheableQuery(ValueError):
    """This query can never be cached; the message says why."""


def table_counter(table: str) -> str:
    """The counters' name for a table (``cache_stats`` lists them per table)."""
    return TABLE_PREFIX + table


# -- keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    key: str
    lock_key: str
    alias: str
    label: str


def _sql_of(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)


def _describe(queryset: QuerySet[Any], kind: str, extra: str) -> str:
    """The text the key hashes; raises ``UncacheableQuery`` for what can never be cached."""
    alias = queryset.db
    if alias != DEFAULT_DB_ALIAS:
        raise UncacheableQuery(
            f"queryset on database {alias!r}: only {DEFAULT_DB_ALIAS!r} is cached (a replica lags its invalidations)"
        )
    if queryset.query.select_for_update:
        raise UncacheableQuery("select_for_update() locks rows: a cached result would lock nothing")
    sql, params = _sql_of(queryset)
    volatile = volatile_function(sql)
    if volatile is not None:
        raise UncacheableQuery(f"the SQL calls {volatile}(), whose value changes between calls")
    parts = [
        kind,
        extra,
        queryset._iterable_class.__name__,
        repr(getattr(queryset, "_fields", None)),
        sql,
        repr(params),
    ]
    for lookup in getattr(queryset, "_prefetch_related_lookups", ()):
        if isinstance(lookup, Prefetch):
            inner = "" if lookup.queryset is None else repr(_sql_of(lookup.queryset))
            parts.append(f"prefetch {lookup.prefetch_to} {inner}")
        else:
            parts.append(f"prefetch {lookup}")
    return "\x1f".join(parts)


def _plan(store: CacheStore, queryset: QuerySet[Any], kind: str, extra: str = "") -> _Plan | None:
    """The queryset's key, or None when it matches nothing by construction (``pk__in=[]``: no query runs)."""
    try:
        text = _describe(queryset, kind, extra)
    except EmptyResultSet:
        return None
    digest = hashlib.blake2b(f"{queryset.db}\x1e{text}".encode(), digest_size=16).hexdigest()
    label = f"{queryset.model._meta.label} {kind}"
    return _Plan(store.keys.queryset_entry(digest), store.keys.queryset_lock(digest), queryset.db, label)


# -- reading ------------------------------------------------------------------------


_MISSING = object()


def _transaction_may_use_cache(alias: str) -> bool:
    """Outside a transaction, yes; inside one, only if it wrote nothing and reads at READ COMMITTED."""
    connection = connections[alias]
    if not connection.in_atomic_block:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_current_xact_id_if_assigned() IS NULL"
            " AND current_setting('transaction_isolation') = 'read committed'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


class QuerysetCache:
    """Cached queryset results on one store: reads, guarded fills, table bumps."""

    def __init__(self, store: CacheStore) -> None:
        self.store = store
        self.generations = TableGenerations(store.client, store.prefix, store.keys.queryset_tag)
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._refused: dict[str, str] = {}

    # Table bumps that failed (Redis unreachable) are retried before Redis is read again.
    def bump(self, tables: Iterable[str]) -> bool:
        names = set(tables)
        with self._pending_lock:
            names |= self._pending
            self._pending = set()
        if not names:
            return True
        try:
            deleted = self.generations.bump(names)
        except RedisError as exc:
            self.store.breaker.failed(exc, GLOBAL)
            with self._pending_lock:
                self._pending |= names
            return False
        counters = self.store.counters
        for table in names:
            counters.add(table_counter(table), INVALIDATIONS)
        counters.add(GLOBAL, INVALIDATIONS, deleted)
        return True

    def _redis_usable(self) -> bool:
        store = self.store
        if time.monotonic() < store.breaker.skip_until:
            return False
        if store.pending.queued and not store.retry_pending():
            return False
        if store.breaker.server_unchecked and not store.recheck_server(GLOBAL):
            return False  # after an error, a failover is noticed before anything is read
        return not self._pending or self.bump(())

    def read(self, plan: _Plan | None, load: Callable[[], T], ttl_s: int) -> T:
        if plan is None:
            return load()
        store = self.store
        counters = store.counters
        if plan.key in self._refused or not self._redis_usable() or not _transaction_may_use_cache(plan.alias):
            counters.add(GLOBAL, BYPASSED)
            return load()
        try:
            raw = store.client.get(plan.key)
        except RedisError as exc:
            store.breaker.failed(exc, GLOBAL)
            counters.add(GLOBAL, BYPASSED)
            return load()
        if raw is not None:
            value: T = self._decode(raw, HITS)  # type: ignore[arg-type]
            if time.monotonic() >= store._stats_due:
                store.maintain()
            return value
        return self._miss(plan, load, ttl_s)

    def _miss(self, plan: _Plan, load: Callable[[], T], ttl_s: int) -> T:
        store = self.store
        client = store.client
        token = secrets.token_hex(8)
        try:
            # The entry is read again with the lock: a reader that found no entry
            # may take the lock just after another stored it and released it.
            pipe = client.pipeline(transaction=True)
            pipe.set(plan.lock_key, token, nx=True, px=int(store.options.stampede_lock_ttl_s * 1000))
            pipe.get(plan.key)
            generations = self.generations
            # The reader's mark, in the same round trip (two GETs: a cluster pipeline refuses MGET).
            pipe.get(generations.epoch_key)
            pipe.get(generations.seq_key)
            acquired, raw, epoch, seq = pipe.execute()
            if raw is not None:
                if acquired:
                    self._release(plan, token)
                return self._decode(raw, WAITS)
            if not acquired:
                token = ""
                waited = self._wait_for(plan)
                if waited is not _MISSING:
                    return waited
                mark = generations.mark()  # read again: waited, so that mark is old
            elif epoch is None:
                mark = generations.mark()  # creates the epoch
            else:
                mark = (epoch.decode() if isinstance(epoch, bytes) else str(epoch), int(seq or 0))
        except RedisError as exc:
            store.breaker.failed(exc, GLOBAL)
            store.counters.add(GLOBAL, BYPASSED)
            return load()
        try:
            with recording(plan.alias) as recorder:
                value = load()
        except BaseException:
            if token:
                self._release(plan, token)
            raise
        tables, unannounced = catalog(plan.alias).reads(recorder.statements)
        volatile = next(filter(None, map(volatile_function, recorder.statements)), None)
        reason = ""
        if unannounced:
            reason = f"it reads {', '.join(sorted(unannounced))}, whose writes no trigger announces"
        elif volatile:
            reason = f"a statement calls {volatile}()"
        for table in tables:
            store.counters.of(table_counter(table))[MISSES] += 1
        if reason:
            self._refused[plan.key] = reason
            log.warning("cached queryset %s is not cached: %s", plan.label, reason)
            if token:
                self._release(plan, token)
            return value
        payload = pickle.dumps((tuple(sorted(tables)), value), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            stored = self.generations.fill(
                plan.key, payload, tables=sorted(tables), mark=mark, ttl_s=ttl_s, lock_key=plan.lock_key, token=token
            )
        except RedisError as exc:
            store.breaker.failed(exc, GLOBAL)
            return value
        for table in tables:
            store.counters.of(table_counter(table))[STORES if stored else REFUSED] += 1
        return value

    def _wait_for(self, plan: _Plan) -> Any:
        """Wait for the reader holding the lock to store the entry; ``_MISSING`` if it does not.

        As long as the lock lives (``CACHE_STAMPEDE_LOCK_TTL_S`` at most), not
        ``CACHE_STAMPEDE_WAIT_S``: under load the holder's query may take longer
        than that, and every waiter giving up at once is the stampede itself.
        """
        deadline = time.monotonic() + self.store.options.stampede_lock_ttl_s
        delay = 0.002
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            # MULTI: the entry and the lock are read together (the fill sets one and deletes the other at once).
            pipe = self.store.client.pipeline(transaction=True)
            pipe.get(plan.key)
            pipe.exists(plan.lock_key)
            raw, locked = pipe.execute()
            if raw is not None:
                return self._decode(raw, WAITS)
            if not locked:
                return _MISSING
        return _MISSING

    def _decode(self, raw: bytes, counter: int) -> Any:
        tables, value = pickle.loads(raw)  # noqa: S301 - our own entries, under our own prefix
        counters = self.store.counters
        for table in tables:
            counters.of(table_counter(table))[counter] += 1
        return value

    def _release(self, plan: _Plan, token: str) -> None:
        try:
            self.generations.release(plan.lock_key, token)
        except RedisError as exc:
            self.store.breaker.failed(exc, GLOBAL)


_bound: tuple[CacheStore, QuerysetCache] | None = None
_bound_lock = threading.Lock()


def queryset_cache() -> QuerysetCache:
    """The queryset cache on this process's store (rebuilt with it)."""
    global _bound
    store = get_store()
    bound = _bound
    if bound is None or bound[0] is not store:
        with _bound_lock:
            if _bound is None or _bound[0] is not store:
                _bound = (store, QuerysetCache(store))
            bound = _bound
    return bound[1]


def bump_tables(tables: Iterable[str]) -> bool:
    """Move the tables' generations now (deleting every entry that read them); False if Redis was unreachable."""
    return queryset_cache().bump(tables)


# -- the API ------------------------------------------------------------------------


def cached(queryset: QuerySet[Any], *, ttl: int = DEFAULT_TTL_S) -> list[Any]:
    """The queryset's rows, from the cache when no table they were read from has changed since."""
    cache = queryset_cache()
    return cache.read(_plan(cache.store, queryset, ROWS), lambda: list(queryset.all()), ttl)


def cached_count(queryset: QuerySet[Any], *, ttl: int = DEFAULT_TTL_S) -> int:
    cache = queryset_cache()
    return cache.read(_plan(cache.store, queryset, COUNT), lambda: queryset.all().count(), ttl)


def cached_aggregate(queryset: QuerySet[Any], *, ttl: int = DEFAULT_TTL_S, **aggregates: Any) -> dict[str, Any]:
    """``queryset.aggregate(**aggregates)``, cached (the aggregates' expressions are part of the key)."""
    cache = queryset_cache()
    extra = repr(sorted((name, repr(expression)) for name, expression in aggregates.items()))
    return cache.read(_plan(cache.store, queryset, AGGREGATE, extra), lambda: queryset.aggregate(**aggregates), ttl)


def _evaluate(queryset: QuerySet[Any], kind: str, aggregates: Mapping[str, Any]) -> Any:
    if kind == COUNT:
        return queryset.count()
    if kind == AGGREGATE:
        return queryset.aggregate(**aggregates)
    return list(queryset)


class CachedQuery(Generic[T]):
    """A named query whose key is compiled once per parameter set: its hit compiles no SQL.

    ``build(**params)`` returns the queryset; it must depend on nothing but its
    parameters (the memoised key stands for the SQL it compiles to).
    """

    def __init__(
        self,
        name: str,
        build: Callable[..., QuerySet[Any]],
        *,
        ttl: int = DEFAULT_TTL_S,
        kind: str = ROWS,
        aggregates: Mapping[str, Any] | None = None,
        warm: Iterable[Mapping[str, Hashable]] = (),
        rewarm: bool = False,
        max_plans: int = 4096,
    ) -> None:
        if kind not in (ROWS, COUNT, AGGREGATE):
            raise ValueError(f"kind must be {ROWS!r}, {COUNT!r} or {AGGREGATE!r}, not {kind!r}")
        self.name = name
        self.build = build
        self.ttl = ttl
        self.kind = kind
        self.aggregates = dict(aggregates or {})
        self.warm = tuple(dict(params) for params in warm)
        # Reloaded by the dedicated listener's re-warmer soon after a write invalidated them.
        self.rewarm = rewarm
        self.max_plans = max_plans
        self._plans: OrderedDict[tuple[Any, ...], tuple[CacheStore, _Plan | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _plan_for(self, cache: QuerysetCache, params: Mapping[str, Hashable]) -> _Plan | None:
        memo_key = tuple(sorted(params.items()))
        found = self._plans.get(memo_key)
        if found is not None and found[0] is cache.store:
            return found[1]
        extra = f"{self.name} {sorted((n, repr(e)) for n, e in self.aggregates.items())}"
        plan = _plan(cache.store, self.build(**params), self.kind, extra)
        with self._lock:
            self._plans[memo_key] = (cache.store, plan)
            while len(self._plans) > self.max_plans:
                self._plans.popitem(last=False)
        return plan

    def __call__(self, **params: Hashable) -> T:
        cache = queryset_cache()
        plan = self._plan_for(cache, params)
        return cache.read(plan, lambda: _evaluate(self.build(**params), self.kind, self.aggregates), self.ttl)


_declared: dict[str, CachedQuery[Any]] = {}


def declare(
    name: str,
    build: Callable[..., QuerySet[Any]],
    *,
    ttl: int = DEFAULT_TTL_S,
    kind: str = ROWS,
    aggregates: Mapping[str, Any] | None = None,
    warm: Iterable[Mapping[str, Hashable]] = (),
    rewarm: bool = False,
) -> CachedQuery[Any]:
    """A ``CachedQuery`` named ``name``; ``warm`` lists the parameter sets ``cache_warm`` loads.

    With ``rewarm`` those parameter sets are loaded again soon after a write deleted
    them (``growthcompass.cache.warming.Rewarmer``, run by ``cache_listener``), so
    the readers of a hot query rarely meet the miss a write leaves behind.
    """
    existing = _declared.get(name)
    if existing is not None and existing.build is not build:
        raise ValueError(f"cached query {name!r} is declared twice")
    query: CachedQuery[Any] = CachedQuery(
        name, build, ttl=ttl, kind=kind, aggregates=aggregates, warm=warm, rewarm=rewarm
    )
    _declared[name] = query
    return query


def declared() -> dict[str, CachedQuery[Any]]:
    return dict(sorted(_declared.items()))


# -- this process's own writes ---------------------------------------------------------


class WriteNotes:
    """An execute wrapper: a write statement that succeeded moves its tables' generations on commit.

    In autocommit the statement has committed when ``execute`` returns, so the
    bump runs at once; inside a transaction, once, in ``on_commit`` (a
    rollback discards it; the triggers would send nothing either).
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self._local = threading.local()

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        result = execute(sql, params, many, context)
        text = statement_text(sql)
        head = text.lstrip()[:8].lower()
        if head.startswith(("insert", "update", "delete", "truncate", "copy", "merge", "with")):
            tables = catalog(self.alias).writes(text)
            if tables:
                self._note(tables)
        return result

    def _note(self, tables: frozenset[str]) -> None:
        connection = connections[self.alias]
        if not connection.in_atomic_block:
            bump_tables(tables)
            return
        pending: set[str] | None = getattr(self._local, "pending", None)
        callback = getattr(self._local, "callback", None)
        if pending is None or not any(entry[1] is callback for entry in connection.run_on_commit):
            pending = self._local.pending = set()
            callback = self._local.callback = functools.partial(_bump_pending, pending)
            transaction.on_commit(callback, using=self.alias, robust=True)
        pending.update(tables)


def _bump_pending(pending: set[str]) -> None:
    tables = set(pending)
    pending.clear()
    bump_tables(tables)


def _add_write_notes(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    if not any(isinstance(wrapper, WriteNotes) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(WriteNotes(connection.alias))


def connect_write_notes() -> None:
    """Note every connection's writes (``CacheConfig.ready()``); re-read the catalog after ``migrate``."""
    connection_created.connect(_add_write_notes, dispatch_uid="growthcompass.cache.querysets.write_notes")
    post_migrate.connect(forget_catalogs, dispatch_uid="growthcompass.cache.querysets.forget_catalogs")
    for alias in connections:
        connection = connections[alias]
        if connection.connection is not None:
            _add_write_notes(connection=connection)
