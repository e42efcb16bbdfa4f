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

Reads and invalidations stay in one module on purpose: they share the key
scheme and the contract of the Lua scripts, and read best side by side. The
rest is composed in: the Redis circuit breaker (``breaker``), the replay of
failed invalidations (``pending``), the counters (``counters``) and their
shared hash (``growthcompass.redis_hash``), the report (``stats``) and the
LISTEN loop (``listen_loop``). This process's store, and whether it runs the
loop, is ``growthcompass.cache.runtime``'s business.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import RedisError

from growthcompass.cache import failover, scripts, stats
from growthcompass.cache.breaker import RedisBreaker
from growthcompass.cache.config import CacheOptions
from growthcompass.cache.counters import (
    BYPASSED,
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
from growthcompass.cache.families import Family
from growthcompass.cache.keys import KeyScheme
from growthcompass.cache.listen_loop import ListenLoop
from growthcompass.cache.local import MISSING, LocalSubscriber, LocalTier
from growthcompass.cache.messages import EVERYTHING, format_message, parse_message
from growthcompass.cache.pending import PendingInvalidations
from growthcompass.cache.registry import family_names
from growthcompass.cache.transactions import has_uncommitted_writes, may_store_loaded_values, written_in_transaction
from growthcompass.redis_hash import RedisHash

__all__ = ["CacheStore"]

T = TypeVar("T")

log = logging.getLogger("growthcompass.cache")


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class CacheStore:
    """Entries of ``Family`` objects in Redis (and optionally in process), invalidated exactly."""

    def __init__(
        self, client: Redis, *, prefix: str, options: CacheOptions | None = None, keys: KeyScheme | None = None
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.options = options or CacheOptions.from_settings()
        # Every key is built by ``keys`` (hash tags on a Redis Cluster, none on one Redis).
        self.keys = keys or KeyScheme(prefix)
        self.cluster = self.keys.cluster
        # On one Redis: the single group's counter and flush tombstone.
        self.seq_key = self.keys.seq("")
        self.all_tombstone = self.keys.all_tombstone("")
        self.stats_key = prefix + "~stats"
        self.channel = prefix + "~inv"
        self.server_key = prefix + "~server"
        # Failovers and restarts-with-data this store noticed (``growthcompass.cache.failover``).
        self.server_changes = 0
        self._server_lock = threading.Lock()
        self.counters = Counters()
        self.breaker = RedisBreaker(self.options, self.counters)
        self.pending = PendingInvalidations()
        self.shared_stats = RedisHash(client, self.stats_key)
        self._invalidate_script = client.register_script(scripts.INVALIDATE)
        self._fill_script = client.register_script(scripts.FILL)
        self._release_script = client.register_script(scripts.RELEASE)
        self._stats_due = time.monotonic() + self.options.stats_flush_interval_s
        self.local: LocalTier | None = None
        self.subscriber: LocalSubscriber | None = None
        self.listener: ListenLoop | None = None
        self._listener_thread: threading.Thread | None = None
        if self.options.local_tier:
            self.local = LocalTier(max_entries=self.options.local_max_entries, ttl_s=self.options.local_ttl_s)
            self.subscriber = LocalSubscriber(
                client=client, channel=self.channel, tier=self.local, apply=self.apply_local_message
            )
            self.subscriber.start()

    # -- keys ------------------------------------------------------------------------

    def key(self, family: str, ident: int) -> str:
        return self.keys.entry(family, ident)

    def tombstone(self, family: str, ident: int) -> str:
        return self.keys.tombstone(family, ident)

    def _mget(self, keys: list[str]) -> list[Any]:
        """``MGET``; on a cluster split by slot (``mget_nonatomic``): the keys of a batch span groups."""
        if self.cluster:
            return list(self.client.mget_nonatomic(keys))  # type: ignore[attr-defined]
        return list(self.client.mget(keys))

    # -- reads -----------------------------------------------------------------------

    def get(self, family: Family[T], ident: int) -> T | None:
        """The value of ``ident`` in ``family`` (``None`` if the loader finds none, which is not cached)."""
        name = family.name
        key = self.keys.entry(name, ident)
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
                        self.maintain()
                    return value
                epoch = local.epoch
            else:
                local = None
        if now >= self._stats_due:
            self.maintain()
        breaker = self.breaker
        if (
            now < breaker.skip_until
            or (self.pending.queued and not self.retry_pending())
            or (breaker.server_unchecked and not self.recheck_server(name))
        ):
            counts[BYPASSED] += 1
            return family.load_many([ident]).get(ident)
        try:
            raw = self.client.get(key)
        except RedisError as exc:
            breaker.failed(exc, name)
            counts[BYPASSED] += 1
            return family.load_many([ident]).get(ident)
        if breaker.failing:
            breaker.recovered()
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
        group = self.keys.group(family.name, ident)
        seq_key = self.keys.seq(group)
        try:
            if family.stampede_lock:
                lock_key = self.keys.lock(family.name, ident)
                token = secrets.token_hex(8)
                pipe = self.client.pipeline(transaction=False)
                pipe.set(lock_key, token, nx=True, px=int(self.options.stampede_lock_ttl_s * 1000))
                pipe.get(seq_key)
                acquired, seq_raw = pipe.execute()
                if not acquired:
                    token = ""
                    waited = self._wait_for(family, key, lock_key)
                    if waited is not MISSING:
                        counts[WAITS] += 1
                        if local is not None:
                            local.put(key, waited, epoch)
                        return waited
                    seq_raw = self.client.get(seq_key)
            else:
                seq_raw = self.client.get(seq_key)
        except RedisError as exc:
            self.breaker.failed(exc, family.name)
            return family.load_many([ident]).get(ident)
        seq = int(seq_raw or 0)
        started = time.monotonic()
        try:
            value = family.load_many([ident]).get(ident)
        except BaseException:
            if token:
                self._release(lock_key, token)
            raise
        stored = self._fill(family, group, {} if value is None else {key: value}, seq, started, lock_key, token)
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
                value = local.get(self.keys.entry(name, ident))
                if value is MISSING:
                    remaining.append(ident)
                else:
                    result[ident] = value
            counts[LOCAL_HITS] += len(wanted) - len(remaining)
            wanted = remaining
        if now >= self._stats_due:
            self.maintain()
        if not wanted:
            return result
        breaker = self.breaker
        if (
            now < breaker.skip_until
            or (self.pending.queued and not self.retry_pending())
            or (breaker.server_unchecked and not self.recheck_server(name))
        ):
            counts[BYPASSED] += len(wanted)
            result.update(family.load_many(wanted))
            return result
        keys = [self.keys.entry(name, i) for i in wanted]
        groups = list(dict.fromkeys(self.keys.group(name, i) for i in wanted))
        try:
            raws = self._mget([*keys, *(self.keys.seq(g) for g in groups)])
        except RedisError as exc:
            breaker.failed(exc, name)
            counts[BYPASSED] += len(wanted)
            result.update(family.load_many(wanted))
            return result
        if breaker.failing:
            breaker.recovered()
        # Each group's counter, read with the entries: what its fill is checked against.
        seqs = {g: int(raw or 0) for g, raw in zip(groups, raws[len(keys) :], strict=True)}
        missing: list[int] = []
        decode = family.codec.decode
        for ident, key, raw in zip(wanted, keys, raws, strict=False):
            if raw is None:
                missing.append(ident)
            else:
                value = decode(raw)
                result[ident] = value
                if local is not None:
                    local.put(key, value, epoch)
        counts[HITS] += len(wanted) - len(missing)
        counts[MISSES] += len(missing)
        if missing:
            started = time.monotonic()
            loaded = family.load_many(missing)
            result.update(loaded)
            by_group: dict[str, dict[str, T]] = {}
            for ident, value in loaded.items():
                by_group.setdefault(self.keys.group(name, ident), {})[self.keys.entry(name, ident)] = value
            for group, by_key in by_group.items():
                stored = self._fill(family, group, by_key, seqs[group], started, "", "")
                if local is not None and stored == len(by_key):
                    for key, value in by_key.items():
                        local.put(key, value, epoch)
        return result

    def _fill(
        self,
        family: Family[T],
        group: str,
        values: Mapping[str, T],
        seq: int,
        started: float,
        lock_key: str,
        token: str,
    ) -> int:
        """Store ``values`` (all in ``group``) unless an invalidation newer than ``seq`` covers them; unlock."""
        if not values and not token:
            return 0
        if values and (time.monotonic() - started > self.options.tombstone_ttl_s / 2 or not may_store_loaded_values()):
            values = {}
        seq_key = self.keys.seq(group)
        keys = [
            seq_key,
            self.keys.all_tombstone(group),
            self.keys.family_tombstone(family.name, group),
            lock_key or seq_key,
        ]
        args: list[Any] = [seq, family.ttl_s, token]
        encode = family.codec.encode
        for key, value in values.items():
            keys.append(key)
            # An entry's tombstone is its key with ``~tomb:`` after the prefix (``KeyScheme.tombstone``).
            keys.append(self.prefix + "~tomb:" + key[len(self.prefix) :])
            args.append(encode(value))
        try:
            stored = int(self._fill_script(keys=keys, args=args))
        except RedisError as exc:
            self.breaker.failed(exc, family.name)
            return 0
        counts = self.counters.of(family.name)
        counts[STORES] += stored
        counts[REFUSED] += len(values) - stored
        return stored

    def _release(self, lock_key: str, token: str) -> None:
        try:
            self._release_script(keys=[lock_key], args=[token])
        except RedisError as exc:
            self.breaker.failed(exc, GLOBAL)

    # -- invalidation ----------------------------------------------------------------

    def invalidate(self, invalidation: Mapping[str, frozenset[int] | None]) -> bool:
        """Delete the entries named, leave tombstones, tell every process's local tier.

        Returns False if Redis could not be reached; the invalidation is then
        kept and replayed before this process reads from Redis again.
        """
        try:
            self.invalidate_or_raise(invalidation)
        except RedisError as exc:
            self.breaker.failed(exc, GLOBAL)
            self.pending.defer(invalidation)
            return False
        return True

    def invalidate_or_raise(self, invalidation: Mapping[str, frozenset[int] | None]) -> int:
        """``invalidate``, but a Redis error is raised; returns how many entries existed."""
        if not invalidation:
            return 0
        if EVERYTHING in invalidation:
            return self.flush_all_or_raise()
        self._evict_local(invalidation)
        # One script call per group (a single one on one Redis): entries and tombstones of a group share a slot.
        pairs: dict[str, list[str]] = {}
        family_tombstones: dict[str, list[str]] = {}
        whole_families: list[str] = []
        for family, ids in invalidation.items():
            if ids is None:
                for group in self.keys.family_groups(family):
                    family_tombstones.setdefault(group, []).append(self.keys.family_tombstone(family, group))
                whole_families.append(family)
            else:
                for ident in ids:
                    group_pairs = pairs.setdefault(self.keys.group(family, ident), [])
                    group_pairs.append(self.key(family, ident))
                    group_pairs.append(self.tombstone(family, ident))
        message = format_message(invalidation)
        groups = list(dict.fromkeys([*pairs, *family_tombstones]))
        # The message goes with the last script (after every deletion), or after the unlinks below.
        publish_in_script = not whole_families and len(groups) == 1
        deleted = 0
        for group in groups:
            group_pairs = pairs.get(group, [])
            deleted += int(
                self._invalidate_script(
                    keys=[self.keys.seq(group), *group_pairs, *family_tombstones.get(group, [])],
                    args=[
                        len(group_pairs) // 2,
                        self.options.tombstone_ttl_s,
                        self.channel,
                        message if publish_in_script else "",
                    ],
                )
            )
        if whole_families:
            # Tombstones first (no racing reader can store), then the entries,
            # then the message (no process refills its tier from an entry not
            # yet deleted).
            deleted += self._unlink_matching(lambda suffix: suffix.split(":", 1)[0] in whole_families)
        if not publish_in_script:
            self.client.publish(self.channel, message)
        if self.breaker.failing:
            self.breaker.recovered()
        for family, ids in invalidation.items():
            self.counters.add(family, INVALIDATIONS, 1 if ids is None else len(ids))
        return deleted

    def flush_all(self) -> bool:
        """Invalidate every entry of every family; False (and retried later) if Redis is unreachable."""
        try:
            self.flush_all_or_raise()
        except RedisError as exc:
            self.breaker.failed(exc, GLOBAL)
            self.pending.defer({EVERYTHING: None})
            return False
        return True

    def flush_all_or_raise(self) -> int:
        """``flush_all``, but a Redis error is raised; returns how many entries were deleted."""
        if self.local is not None:
            self.local.clear()
        known = family_names()
        # The "everything" tombstones first (one per group), so no reader that raced the flush can store.
        for group in self.keys.every_group(known):
            self._invalidate_script(
                keys=[self.keys.seq(group), self.keys.all_tombstone(group)],
                args=[0, self.options.tombstone_ttl_s, self.channel, ""],
            )
        deleted = self._unlink_matching(lambda suffix: suffix.split(":", 1)[0] in known)
        self.client.publish(self.channel, EVERYTHING)
        if self.breaker.failing:
            self.breaker.recovered()
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

    # -- failures (the breaker and the replay live in ``breaker`` and ``pending``) ----

    def retry_pending(self) -> bool:
        """Apply invalidations that failed earlier; True when none is left."""
        return self.pending.replay(self.invalidate, self.breaker)

    @property
    def pending_invalidations(self) -> int:
        return len(self.pending)

    @property
    def skipping_redis(self) -> bool:
        return self.breaker.skipping

    # -- a failover or a restart with data (``growthcompass.cache.failover``) -------------

    def check_server(self) -> bool:
        """Invalidate everything if Redis is another server than the one that last marked it; True if so.

        Redis errors are raised (the callers count them through the breaker).
        """
        # One thread of the process checks (and flushes); the others wait for it rather than read.
        with self._server_lock:
            identity, marked = failover.identity_and_mark(self.client, self.server_key)
            if marked is None:
                # A new, empty Redis (or one restarted empty): nothing to invalidate; mark it.
                self.client.set(self.server_key, identity, nx=True)
                return False
            if marked == identity:
                return False
            log.warning("cache: Redis is another server than before (failover or restart); invalidating everything")
            self.flush_all_or_raise()
            from growthcompass.cache.generations import TableGenerations
            from growthcompass.cache.table_bumps import bump_every_table

            # ... and every cached queryset, as the listener does when it reconnects.
            bump_every_table(TableGenerations(self.client, self.prefix, self.keys.queryset_tag))
            self.client.set(self.server_key, identity)
            self.server_changes += 1
            return True

    def recheck_server(self, family: str) -> bool:
        """Before the first read after an error: ``check_server``; False (Redis skipped again) if it failed."""
        try:
            self.check_server()
        except RedisError as exc:
            self.breaker.failed(exc, family)
            return False
        self.breaker.server_unchecked = False
        return True

    def maintain(self) -> None:
        """The periodic turn of the read path: check the server, then flush the counts."""
        if not self.breaker.skipping:
            self.recheck_server(GLOBAL)
        self.flush_stats()

    # -- statistics ------------------------------------------------------------------

    def flush_stats(self) -> bool:
        """Add this process's counts to the shared hash in one pipelined round trip."""
        self._stats_due = time.monotonic() + self.options.stats_flush_interval_s
        taken = self.counters.take()
        if not taken:
            return True
        if self.breaker.skipping:
            self.counters.give_back(taken)
            return False
        try:
            self.shared_stats.add(taken)
        except RedisError as exc:
            self.counters.give_back(taken)
            self.breaker.failed(exc, GLOBAL)
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
        return stats.collect(self)

    def shared_counts(self) -> dict[str, int]:
        """The counts every process has flushed, as ``{"family|field": n}``."""
        return self.shared_stats.counts()

    def live_listeners(self) -> list[str]:
        """Listeners that sent a heartbeat within its TTL."""
        start = len(self.prefix) + len("~listener:")
        return sorted(
            (k.decode() if isinstance(k, bytes) else str(k))[start:]
            for k in self.client.scan_iter(match=_glob_escape(self.prefix) + "~listener:*", count=1000)
        )

    def reset_statistics(self) -> None:
        self.counters.take()
        self.shared_stats.clear()

    def heartbeat(self, listener_id: str, ttl_s: int = 15, session: str = "") -> None:
        """Announce a live listener and the PostgreSQL session it listens on (``cache_stats`` lists them)."""
        try:
            self.client.set(f"{self.prefix}~listener:{listener_id}", session, ex=ttl_s)
        except RedisError as exc:
            self.breaker.failed(exc, GLOBAL)

    def listener_sessions(self) -> dict[str, str]:
        """The live listeners and the session each announced (``listen_loop.covered_by`` reads them)."""
        try:
            start = len(self.prefix) + len("~listener:")
            keys = list(self.client.scan_iter(match=_glob_escape(self.prefix) + "~listener:*", count=1000))
            values = self._mget(keys) if keys else []
        except RedisError as exc:
            self.breaker.failed(exc, GLOBAL)
            return {}
        return {
            (key.decode() if isinstance(key, bytes) else str(key))[start:]: (
                value.decode() if isinstance(value, bytes) else str(value)
            )
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def forget_listener(self, listener_id: str) -> None:
        """Withdraw a stopped listener's heartbeat."""
        try:
            self.client.delete(f"{self.prefix}~listener:{listener_id}")
        except RedisError as exc:
            self.breaker.failed(exc, GLOBAL)

    # -- lifecycle -------------------------------------------------------------------

    def start_listener(self) -> ListenLoop:
        """Run the PostgreSQL LISTEN loop on this store as a daemon thread of this process (once).

        ``growthcompass.cache.runtime.start_server_listener`` calls it in a server process
        when ``CACHE_LISTENER_IN_PROCESS`` is on; ``close`` stops it.
        """
        if self.listener is None:
            self.listener = ListenLoop(store_factory=lambda: self)
            self._listener_thread = self.listener.run_in_thread()
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
