"""The in-process tier: a small LRU with a short TTL in front of Redis.

Coherence across processes comes from Redis pub/sub: every invalidation
(``CacheStore.invalidate``) publishes the keys it deleted, and each process's
``LocalSubscriber`` thread evicts them here. The tier serves nothing while
its subscriber is not subscribed (messages sent then would be lost), and is
emptied every time the subscription is (re)established.

A value read from Redis or PostgreSQL is only kept if no eviction arrived
between the moment the reader started and the moment it stores (``epoch``),
so a reader that raced an invalidation cannot put the old value back.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger("growthcompass.cache")

MISSING: Any = object()


class LocalTier:
    """A thread-safe LRU of ``key -> value`` with a TTL.

    Reads take no lock: each ``OrderedDict`` operation is atomic under the GIL,
    and a race between a read and an eviction at worst misses.
    """

    def __init__(self, *, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max(1, max_entries)
        self.ttl_s = ttl_s
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._write = threading.Lock()
        # Incremented before every eviction; see ``put``.
        self.epoch = 0
        # Set while the pub/sub subscription is live: only then may the tier serve.
        self.ready = False

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> Any:
        item = self._data.get(key)
        if item is None:
            return MISSING
        if item[0] < time.monotonic():
            self._data.pop(key, None)
            return MISSING
        try:
            self._data.move_to_end(key)
        except KeyError:  # evicted meanwhile
            return MISSING
        return item[1]

    def put(self, key: str, value: Any, epoch: int) -> bool:
        """Keep ``value`` unless an eviction happened since ``epoch`` was read."""
        if not self.ready or epoch != self.epoch:
            return False
        with self._write:
            self._data[key] = (time.monotonic() + self.ttl_s, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        # Evictions bump the epoch before they remove anything, so an eviction
        # that ran between the check above and the insert is seen here.
        if epoch != self.epoch:
            self._data.pop(key, None)
            return False
        return True

    def evict(self, keys: list[str]) -> None:
        self.epoch += 1
        with self._write:
            for key in keys:
                self._data.pop(key, None)

    def evict_prefix(self, prefix: str) -> None:
        self.epoch += 1
        with self._write:
            for key in [k for k in self._data if k.startswith(prefix)]:
                self._data.pop(key, None)

    def clear(self) -> None:
        self.epoch += 1
        with self._write:
            self._data.clear()


class LocalSubscriber(threading.Thread):
    """Keeps a ``LocalTier`` coherent: SUBSCRIBEs to the invalidation channel and evicts.

    Reconnects with exponential backoff; the tier is disabled (``ready`` false)
    and emptied whenever the subscription is down.
    """

    def __init__(
        self,
        *,
        client: Redis,
        channel: str,
        tier: LocalTier,
        apply: Callable[[str], None],
        backoff_max_s: float = 5.0,
    ) -> None:
        super().__init__(name=f"cache-local-subscriber:{channel}", daemon=True)
        self.client = client
        self.channel = channel
        self.tier = tier
        self.apply = apply
        self.backoff_max_s = backoff_max_s
        self.stop_event = threading.Event()
        self.subscribed = threading.Event()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        backoff = 0.1
        while not self.stop_event.is_set():
            pubsub = self.client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                # Wait for the confirmation: only then is no message lost.
                while not self.stop_event.is_set():
                    message = pubsub.get_message(timeout=0.25)
                    if message and message["type"] == "subscribe":
                        break
                self.tier.clear()
                self.tier.ready = True
                self.subscribed.set()
                backoff = 0.1
                while not self.stop_event.is_set():
                    message = pubsub.get_message(timeout=0.25)
                    if message and message["type"] == "message":
                        data = message["data"]
                        self.apply(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError, ValueError) as exc:
                log.debug("cache: local-tier subscription lost (%s); retrying in %.1f s", exc, backoff)
            finally:
                self.tier.ready = False
                self.subscribed.clear()
                self.tier.clear()
                try:
                    pubsub.close()
                except (RedisError, OSError):
                    pass
            self.stop_event.wait(backoff * (1 + random.random() / 2))  # noqa: S311 - jitter, not crypto
            backoff = min(backoff * 2, self.backoff_max_s)
