"""Key families: what a cache entry holds, how it is loaded, and how long it may live.

An entry's key is ``<prefix><family>:<id>``. Apps declare their families, and
the writes that invalidate them, in their own ``cache.py`` with
``growthcompass.cache.register`` (see ``growthcompass.cache.registry``); the
generated NOTIFY payloads say ``<family>:<id>,<id>`` or ``<family>:*``, so a
family's name is a contract with frozen SQL: add families, never rename one.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, Protocol, TypeVar

T = TypeVar("T")
# A NamedTuple class: the row codecs build values with its ``_make``.
R = TypeVar("R", bound=NamedTuple)

class Codec(Protocol[T]):
    def encode(self, value: T) -> bytes: ...

    def decode(self, raw: bytes) -> T: ...


class PickleCodec(Generic[T]):
    """Plain values (tuples of ints, strings, dates) as pickles.

    Only this project writes under the cache's key prefix, the same trust
    django-redis's default serializer places in Redis.
    """

    def encode(self, value: T) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, raw: bytes) -> T:
        value: T = pickle.loads(raw)  # noqa: S301 - our own entries, see the class docstring
        return value


class RowCodec(Generic[R]):
    """A ``NamedTuple`` stored as the plain tuple of its values.

    Decoding builds the named tuple straight from the unpickled tuple, a few
    hundred nanoseconds where a frozen dataclass costs microseconds (its
    ``__init__`` goes through ``object.__setattr__`` field by field), and a
    payload class can be moved or renamed without breaking stored entries.
    Adding or removing a field changes the tuple: bump ``CACHE_VERSION`` then.
    """

    def __init__(self, cls: type[R]) -> None:
        self.cls = cls

    def encode(self, value: R) -> bytes:
        return pickle.dumps(tuple(value), protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, raw: bytes) -> R:
        return self.cls._make(pickle.loads(raw))  # noqa: S301 - our own entries, see PickleCodec


class RowsCodec(Generic[R]):
    """A tuple of ``NamedTuple`` rows, stored as a tuple of plain tuples (see ``RowCodec``)."""

    def __init__(self, cls: type[R]) -> None:
        self.cls = cls

    def encode(self, value: tuple[R, ...]) -> bytes:
        return pickle.dumps(tuple(tuple(item) for item in value), protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, raw: bytes) -> tuple[R, ...]:
        make = self.cls._make
        return tuple(make(row) for row in pickle.loads(raw))  # noqa: S301 - our own entries, see PickleCodec


@dataclass(frozen=True, eq=False)
class Family(Generic[T]):
    """A kind of cache entry, keyed by an integer id.

    ``load_many`` reads the values of many ids from PostgreSQL in one query and
    returns those that exist (an id it leaves out is not cached). It must read
    the primary database: an entry filled from a lagging replica after its
    invalidation would stay stale until its TTL.
    """

    name: str
    ttl_s: int
    load_many: Callable[[Sequence[int]], Mapping[int, T]]
    codec: Codec[T]
    # Served from the in-process tier too (when CACHE_LOCAL_TIER is on).
    local: bool = False
    # Concurrent misses compute the value once (the others wait for it).
    stampede_lock: bool = False

