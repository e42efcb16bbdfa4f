"""The two-tier store behind the cached selectors: in-process LRU, then Redis, then PostgreSQL.

Reads (``get``, ``get_many``):

* the in-process tier when the family allows it and the tier is coherent;
* otherwise one Redis ``GET`` (``MGET`` for a batch);
* on a miss, the invalidation counter is read *before* the loader queries
  PostgreSQL, and the value is stored by the FILL script only if no
  invalidation raced the load (see ``growthcompass.cache.scripts``);
* if Redis errors, it is skipped for a growing pause and reads go straight to
  PostgreSQL: no exception reaches the caller, a warning is logged at most once
  a minute per process, and the errors are counted.

Invalidations (``invalidate``) delete entries, leave tombstones and publish the
keys to every process's in-process tier, in one atomic script. One that fails
(Redis unreachable) is kept and replayed before this process reads from Redis
again.

Values loaded inside a transaction that has written anything (or that runs
above READ COMMITTED) are returned but never stored: they may include changes
that will roll back, or miss commits that an invalidation already announced.

One module on purpose, in sections: reads and invalidations share the key
scheme and the contract of the Lua scripts, and read best side by side.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.cache import caches
from redis import Redis
from redis.exceptions import RedisError

from growthcompass.cache import messages, scripts
from growthcompass.cache.config import CacheOptions
from growthcompass.cache.families import Family
from growthcompass.cache.local import MISSING, LocalSubscriber, LocalTier
from growthcompass.cache.messages import EVERYTHING, Invalidation, format_message, merge_into, parse_message
from growthcompass.cache.registry import family_names
from growthcompass.cache.stats import (
    BYPASSED,
    ERRORS,
    GLOBAL,
    HITS,
    INVALIDATIONS,
    LOCAL_HITS,
    MISSES,
    REFUSED,
    STORES,
    WAITS,
    Counters,
)
from growthcompass.cache.transactions import has_uncommitted_writes, may_store_loaded_values, written_in_transaction

if TYPE_CHECKING:
    from growthcompass.cache.listener import InvalidationListener

log = logging.getLogger("growthcompass.cache")

T = TypeVar("T")

# Past this many pending (unapplied) ids, a replay flushes everything instead.
_PENDING_LIMIT = 10_000


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class CacheStore:
    """Entries of ``Family`` objects in Redis (and optionally in process), invalidated exactly."""

    def __init__(self, client: Redis, *, prefix: str, options: CacheOptions | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.options = options or CacheOptions()
        self.seq_key = prefix + "~seq"
        self.all_tombstone = prefix + "~tomb:*"
        self.stats_key = prefix + "~stats"
        self.channel = prefix + "~inv"
        self.counters = Counters()
        self._invalidate_script = client.register_script(scripts.INVALIDATE)
        self._fill_script = client.register_script(scripts.FILL)
        self._release_script = client.register_script(scripts.RELEASE)
        # Redis is skipped until this monotonic time after an error.
        self._skip_until = 0.0
        self._pause_s = self.options.retry_after_s
        self._failing = False
        self._last_warning = float("-inf")
        self._stats_due = time.monotonic() + self.options.stats_flush_interval_s
        self._pending: Invalidation = {}
        self._pending_lock = threading.Lock()
        self.local: LocalTier | None = None
        self.subscriber: LocalSubscriber | None = None
        self.listener: InvalidationListener | None = None
        self._listener_thread: threading.Thread | None = None
        if self.options.local_tier:
            self.local = LocalTier(max_entries=self.options.local_max_entries, ttl_s=self.options.local_ttl_s)
            self.subscriber = LocalSubscriber(
                client=client, channel=self.channel, tier=self.local, apply=self.apply_local_message
            )
            self.subscriber.start()
        if self.options.listener_in_process and not _dedicated_listener:
            self.start_listener()

    # -- keys ------------------------------------------------------------------------

    def key(self, family: str, ident: int) -> str:
        return f"{self.prefix}{family}:{ident}"

    def tombstone(self, family: str, ident: int | str) -> str:
        return f"{self.prefix}~tomb:{family}:{ident}"

    # -- reads -----------------------------------------------------------------------

    def get(self, family: Family[T], ident: int) -> T | None:
        """The value of ``ident`` in ``family`` (``None`` if the loader finds none, which is not cached)."""
        name = family.name
        key = self.prefix + name + ":" + str(ident)
        counts = self.counters.of(name)
        if has_uncommitted_writes() and written_in_transaction(name, ident):
            return family.load_many([ident]).get(ident)
        now = time.monotonic()
        local = self.local if family.local else None
        epoch = 0
        if local is not None:
            if local.ready:
                value = local.get(key)
                if value is not MISSING:
                    counts[LOCAL_HITS] += 1
                    if now >= self._stats_due:
                        self.flush_stats()
                    return value
                epoch = local.epoch
            else:
                local = None
        if now >= self._stats_due:
            self.flush_stats()
        if now < self._skip_until or (self._pending and not self.retry_pending()):
            counts[BYPASSED] += 1
            return family.load_many([ident]).get(ident)
        try:
            raw = self.client.get(key)
        except RedisError as exc:
            self._failed(exc, name)
            counts[BYPASSED] += 1
            return family.load_many([ident]).get(ident)
        if self._failing:
            self._recovered()
        if raw is not None:
            value = family.codec.decode(raw)  # type: ignore[arg-type]
            counts[HITS] += 1
            if local is not None:
                local.put(key, value, epoch)
            return value
        counts[MISSES] += 1
        return self._miss(family, ident, key, local, epoch)

    def _miss(self, family: Family[T], ident: int, key: str, local: LocalTier | None, epoch: int) -> T | None:
        counts = self.counters.of(family.name)
        lock_key = ""
        token = ""
        try:
            if family.stampede_lock:
                lock_key = f"{self.prefix}~lock:{family.name}:{ident}"
                token = secrets.token_hex(8)
                pipe = self.client.pipeline(transaction=False)
                pipe.set(lock_key, token, nx=True, px=int(self.options.stampede_lock_ttl_s * 1000))
                pipe.get(self.seq_key)
                acquired, seq_raw = pipe.execute()
                if not acquired:
                    token = ""
                    waited = self._wait_for(family, key, lock_key)
                    if waited is not MISSING:
                        counts[WAITS] += 1
                        if local is not None:
                            local.put(key, waited, epoch)
                        return waited
                    seq_raw = self.client.get(self.seq_key)
            else:
                seq_raw = self.client.get(self.seq_key)
        except RedisError as exc:
            self._failed(exc, family.name)
            return family.load_many([ident]).get(ident)
        seq = int(seq_raw or 0)
        started = time.monotonic()
        try:
            value = family.load_many([ident]).get(ident)
        except BaseException:
            if token:
                self._release(lock_key, token)
            raise
        stored = self._fill(family, {} if value is None else {key: value}, seq, started, lock_key, token)
        if stored and local is not None:
            local.put(key, value, epoch)
        return value

    def _wait_for(self, family: Family[T], key: str, lock_key: str) -> T | Any:
        """Wait for the reader holding ``lock_key`` to store ``key``; MISSING if it does not."""
        deadline = time.monotonic() + self.options.stampede_wait_s
        delay = 0.002
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            pipe = self.client.pipeline(transaction=False)
            pipe.get(key)
            pipe.exists(lock_key)
            raw, locked = pipe.execute()
            if raw is not None:
                return family.codec.decode(raw)
            if not locked:
                return MISSING  # the holder finished without storing (its fill was refused)
        return MISSING

    def get_many(self, family: Family[T], ids: Iterable[int]) -> dict[int, T]:
        """Values of ``ids`` that exist: hits in one round trip, misses in one query, stored in one round trip."""
        name = family.name
        counts = self.counters.of(name)
        wanted = list(dict.fromkeys(ids))
        result: dict[int, T] = {}
        if not wanted:
            return result
        if has_uncommitted_writes():
            direct = {i for i in wanted if written_in_transaction(name, i)}
            if direct:
                result.update(family.load_many(sorted(direct)))
                wanted = [i for i in wanted if i not in direct]
        now = time.monotonic()
        local = self.local if family.local and self.local is not None and self.local.ready else None
        epoch = 0
        if local is not None:
            epoch = local.epoch
            remaining = []
            for ident in wanted:
                value = local.get(self.prefix + name + ":" + str(ident))
                if value is MISSING:
                    remaining.append(ident)
                else:
                    result[ident] = value
            counts[LOCAL_HITS] += len(wanted) - len(remaining)
            wanted = remaining
        if now >= self._stats_due:
            self.flush_stats()
        if not wanted:
            return result
        if now < self._skip_until or (self._pending and not self.retry_pending()):
            counts[BYPASSED] += len(wanted)
            result.update(family.load_many(wanted))
            return result
        keys = [self.prefix + name + ":" + str(i) for i in wanted]
        try:
            raws = self.client.mget([*keys, self.seq_key])
        except RedisError as exc:
            self._failed(exc, name)
            counts[BYPASSED] += len(wanted)
            result.update(family.load_many(wanted))
            return result
        if self._failing:
            self._recovered()
        seq = int(raws[-1] or 0)
        missing: list[int] = []
        decode = family.codec.decode
        for ident, key, raw in zip(wanted, keys, raws, strict=False):
            if raw is None:
                missing.append(ident)
            else:
                value = decode(raw)  # type: ignore[arg-type]
                result[ident] = value
                if local is not None:
                    local.put(key, value, epoch)
        counts[HITS] += len(wanted) - len(missing)
        counts[MISSES] += len(missing)
        if missing:
            started = time.monotonic()
            loaded = family.load_many(missing)
            result.update(loaded)
            by_key = {self.prefix + name + ":" + str(i): v for i, v in loaded.items()}
            stored = self._fill(family, by_key, seq, started, "", "")
            if local is not None and stored == len(by_key):
                for key, value in by_key.items():
                    local.put(key, value, epoch)
        return result

    def _fill(
        self, family: Family[T], values: Mapping[str, T], seq: int, started: float, lock_key: str, token: str
    ) -> int:
        """Store ``values`` unless an invalidation newer than ``seq`` covers them; release the lock."""
        if not values and not token:
            return 0
        if values and (time.monotonic() - started > self.options.tombstone_ttl_s / 2 or not may_store_loaded_values()):
            values = {}
        keys = [self.seq_key, self.all_tombstone, f"{self.prefix}~tomb:{family.name}:*", lock_key or self.seq_key]
        args: list[Any] = [seq, family.ttl_s, token]
        encode = family.codec.encode
        for key, value in values.items():
            keys.append(key)
            keys.append(self.prefix + "~tomb:" + key[len(self.prefix) :])
            args.append(encode(value))
        try:
            stored = int(self._fill_script(keys=keys, args=args))
        except RedisError as exc:
            self._failed(exc, family.name)
            return 0
        counts = self.counters.of(family.name)
        counts[STORES] += stored
        counts[REFUSED] += len(values) - stored
        return stored

    def _release(self, lock_key: str, token: str) -> None:
        try:
            self._release_script(keys=[lock_key], args=[token])
        except RedisError as exc:
            self._failed(exc, GLOBAL)

    # -- invalidation ----------------------------------------------------------------

    def invalidate(self, invalidation: Mapping[str, frozenset[int] | None]) -> bool:
        """Delete the entries named, leave tombstones, tell every process's local tier.

        Returns False if Redis could not be reached; the invalidation is then
        kept and replayed before this process reads from Redis again.
        """
        try:
            self.invalidate_or_raise(invalidation)
        except RedisError as exc:
            self._failed(exc, GLOBAL)
            self._defer(invalidation)
            return False
        return True

    def invalidate_or_raise(self, invalidation: Mapping[str, frozenset[int] | None]) -> int:
        """``invalidate``, but a Redis error is raised; returns how many entries existed."""
        if not invalidation:
            return 0
        if EVERYTHING in invalidation:
            return self.flush_all_or_raise()
        self._evict_local(invalidation)
        pairs: list[str] = []
        family_tombstones: list[str] = []
        whole_families: list[str] = []
        for family, ids in invalidation.items():
            if ids is None:
                family_tombstones.append(self.tombstone(family, "*"))
                whole_families.append(family)
            else:
                for ident in ids:
                    pairs.append(self.key(family, ident))
                    pairs.append(self.tombstone(family, ident))
        message = format_message(invalidation)
        deleted = int(
            self._invalidate_script(
                keys=[self.seq_key, *pairs, *family_tombstones],
                args=[len(pairs) // 2, self.options.tombstone_ttl_s, self.channel, "" if whole_families else message],
            )
        )
        if whole_families:
            # Tombstones first (no racing reader can store), then the entries,
            # then the message (no process refills its tier from an entry not
            # yet deleted).
            deleted += self._unlink_matching(lambda suffix: suffix.split(":", 1)[0] in whole_families)
            self.client.publish(self.channel, message)
        if self._failing:
            self._recovered()
        for family, ids in invalidation.items():
            self.counters.add(family, INVALIDATIONS, 1 if ids is None else len(ids))
        return deleted

    def flush_all(self) -> bool:
        """Invalidate every entry of every family; False (and retried later) if Redis is unreachable."""
        try:
            self.flush_all_or_raise()
        except RedisError as exc:
            self._failed(exc, GLOBAL)
            self._defer({EVERYTHING: None})
            return False
        return True

    def flush_all_or_raise(self) -> int:
        """``flush_all``, but a Redis error is raised; returns how many entries were deleted."""
        if self.local is not None:
            self.local.clear()
        # The global tombstone first, so no reader that raced the flush can store.
        self._invalidate_script(
            keys=[self.seq_key, self.all_tombstone], args=[0, self.options.tombstone_ttl_s, self.channel, ""]
        )
        known = family_names()
        deleted = self._unlink_matching(lambda suffix: suffix.split(":", 1)[0] in known)
        self.client.publish(self.channel, EVERYTHING)
        if self._failing:
            self._recovered()
        self.counters.add(GLOBAL, INVALIDATIONS, deleted)
        return deleted

    def delete_pattern(self, pattern: str) -> int:
        """Delete the keys under the prefix matching the glob ``pattern`` (not the bookkeeping ``~`` keys)."""
        if self.local is not None:
            self.local.clear()
        deleted = self._unlink_matching(lambda suffix: not suffix.startswith("~"), match=pattern)
        self.client.publish(self.channel, EVERYTHING)
        return deleted

    def _unlink_matching(self, keep: Callable[[str], bool], *, match: str = "*") -> int:
        deleted = 0
        batch: list[str | bytes] = []
        start = len(self.prefix)
        for raw_key in self.client.scan_iter(match=_glob_escape(self.prefix) + match, count=1000):
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            if keep(key[start:]):
                batch.append(key)
            if len(batch) >= 500:
                deleted += int(self.client.unlink(*batch))
                batch = []
        if batch:
            deleted += int(self.client.unlink(*batch))
        return deleted

    def _evict_local(self, invalidation: Mapping[str, frozenset[int] | None]) -> None:
        local = self.local
        if local is None:
            return
        if EVERYTHING in invalidation:
            local.clear()
            return
        keys: list[str] = []
        for family, ids in invalidation.items():
            if ids is None:
                local.evict_prefix(f"{self.prefix}{family}:")
            else:
                keys.extend(self.key(family, i) for i in ids)
        if keys:
            local.evict(keys)

    def apply_local_message(self, message: str) -> None:
        """Evict from this process's tier what another process invalidated (pub/sub)."""
        self._evict_local(parse_message(message))

    def _defer(self, invalidation: Mapping[str, frozenset[int] | None]) -> None:
        with self._pending_lock:
            merge_into(self._pending, invalidation)
            if messages.size(self._pending) > _PENDING_LIMIT:
                self._pending = {EVERYTHING: None}

    def retry_pending(self) -> bool:
        """Apply invalidations that failed earlier; True when none is left."""
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return True
        if time.monotonic() < self._skip_until:
            self._defer(pending)
            return False
        return self.invalidate(pending)

    @property
    def pending_invalidations(self) -> int:
        return messages.size(self._pending)

    # -- failures --------------------------------------------------------------------

    def _failed(self, exc: Exception, family: str) -> None:
        self.counters.add(family, ERRORS)
        now = time.monotonic()
        self._skip_until = now + self._pause_s
        self._pause_s = min(self._pause_s * 2, self.options.retry_after_max_s)
        self._failing = True
        if now - self._last_warning >= self.options.warning_interval_s:
            self._last_warning = now
            log.warning(
                "cache: Redis unavailable (%s: %s); reads fall through to PostgreSQL, retrying in %.1f s",
                type(exc).__name__,
                exc,
                self._skip_until - now,
            )

    def _recovered(self) -> None:
        self._failing = False
        self._pause_s = self.options.retry_after_s
        log.info("cache: Redis answers again")

    @property
    def skipping_redis(self) -> bool:
        return time.monotonic() < self._skip_until

    # -- statistics ------------------------------------------------------------------

    def flush_stats(self) -> bool:
        """Add this process's counts to the shared hash in one pipelined round trip."""
        self._stats_due = time.monotonic() + self.options.stats_flush_interval_s
        taken = self.counters.take()
        if not taken:
            return True
        if self.skipping_redis:
            self.counters.give_back(taken)
            return False
        try:
            pipe = self.client.pipeline(transaction=False)
            for field, value in taken.items():
                pipe.hincrby(self.stats_key, field, value)
            pipe.execute()
        except RedisError as exc:
            self.counters.give_back(taken)
            self._failed(exc, GLOBAL)
            return False
        return True

    def ping(self) -> dict[str, Any]:
        """Is Redis there, how fast does it answer, how much memory does it use."""
        try:
            started = time.perf_counter()
            self.client.ping()
            ping_ms = (time.perf_counter() - started) * 1000
            memory = self.client.info("memory")
        except RedisError as exc:
            return {"connected": False, "error": f"{type(exc).__name__}: {exc}"}
        return {
            "connected": True,
            "ping_ms": round(ping_ms, 3),
            "used_memory": int(memory.get("used_memory", 0)),
            "used_memory_human": str(memory.get("used_memory_human", "")),
            "maxmemory_policy": str(memory.get("maxmemory_policy", "")),
        }

    def statistics(self) -> dict[str, Any]:
        """Counts summed over every process (this one's unflushed counts included), and Redis's state."""
        from growthcompass.cache.stats import collect

        return collect(self)

    def shared_counts(self) -> dict[str, int]:
        """The counts every process has flushed, as ``{"family|field": n}``."""
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): int(v)
            for k, v in self.client.hgetall(self.stats_key).items()
        }

    def live_listeners(self) -> list[str]:
        """Listeners that sent a heartbeat within its TTL."""
        start = len(self.prefix) + len("~listener:")
        return sorted(
            (k.decode() if isinstance(k, bytes) else str(k))[start:]
            for k in self.client.scan_iter(match=_glob_escape(self.prefix) + "~listener:*", count=1000)
        )

    def reset_statistics(self) -> None:
        self.counters.take()
        self.client.delete(self.stats_key)

    def heartbeat(self, listener_id: str, ttl_s: int = 15) -> None:
        """Announce a live listener (``cache_stats`` lists them)."""
        try:
            self.client.set(f"{self.prefix}~listener:{listener_id}", str(time.time()), ex=ttl_s)
        except RedisError as exc:
            self._failed(exc, GLOBAL)

    # -- lifecycle -------------------------------------------------------------------

    def start_listener(self) -> InvalidationListener:
        """Run the PostgreSQL LISTEN loop as a daemon thread of this process (once)."""
        from growthcompass.cache.listener import InvalidationListener

        if self.listener is None:
            self.listener = InvalidationListener(store_factory=lambda: self)
            self._listener_thread = threading.Thread(
                target=self.listener.run, name="cache-invalidation-listener", daemon=True
            )
            self._listener_thread.start()
        return self.listener

    def close(self) -> None:
        if self.subscriber is not None:
            self.subscriber.stop()
        if self.listener is not None:
            self.listener.stop()
        self.flush_stats()
        if self.subscriber is not None:
            self.subscriber.join(timeout=3)
        if self._listener_thread is not None:
            self._listener_thread.join(timeout=3)


_store: CacheStore | None = None
_store_lock = threading.Lock()
# Set by ``manage.py cache_listener``: that process is the listener, so the
# in-process one (CACHE_LISTENER_IN_PROCESS) must not start a second.
_dedicated_listener = False


def run_as_dedicated_listener() -> None:
    global _dedicated_listener
    _dedicated_listener = True


def build_store(alias: str = "default", options: CacheOptions | None = None) -> CacheStore:
    """A store on Django's cache ``alias`` (its django-redis connection pool, key prefix and version)."""
    from django_redis import get_redis_connection

    client = get_redis_connection(alias)
    return CacheStore(client, prefix=caches[alias].make_key(""), options=options or CacheOptions.from_settings())


def get_store() -> CacheStore:
    """This process's store, built on first use from the settings."""
    global _store
    store = _store
    if store is None:
        with _store_lock:
            if _store is None:
                _store = build_store()
            store = _store
    return store


def reset_store() -> None:
    """Drop this process's store (settings changed, or after a fork); the next use builds a new one."""
    global _store
    with _store_lock:
        old, _store = _store, None
    if old is not None:
        old.close()


def _forget_after_fork() -> None:
    # The parent's threads do not exist in the child; build a fresh store there.
    global _store
    _store = None


def _flush_at_exit() -> None:
    store = _store
    if store is not None:
        store.flush_stats()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(_flush_at_exit)
