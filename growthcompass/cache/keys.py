"""Every Redis key of the cache, built in one place, and which keys must share a Redis Cluster hash slot.

A Lua script (and a ``MULTI``) on a Redis Cluster may only touch keys of one
hash slot. The store's scripts touch an entry, its tombstone, the
invalidation counter ``~seq`` and the tombstones that cover it; the cached
querysets' scripts touch an entry and the generations of every table it read.
So the keys are grouped, and each group carries a hash tag (the part between
``{`` and ``}``, which alone decides the slot):

* **Family entries: one group per family and bucket** -- ``{<family>/<id mod
  CACHE_CLUSTER_BUCKETS>}``, 16 buckets by default. Each group has its own
  ``~seq``, its own "everything" tombstone and its own family tombstone, so
  the race guard works within the group exactly as it does globally on one
  Redis. The buckets spread every family -- the hot ``student`` family too --
  over 16 slots, hence over every master, while a batch read still needs at
  most one script call per bucket.
* **Cached querysets: one group**, ``{~q}``. An entry depends on any set of
  tables, and its fill must compare all their generations atomically, so
  they cannot be split; this one group lives on one master (say so when
  sizing: the queryset cache does not spread).
* Keys read alone (the statistics hash, listener heartbeats, the server mark)
  need no tag.

On a single Redis (or Sentinel) there is one group and no tag: the keys are
what they always were (``<prefix>student:42``, ``<prefix>~seq``, ...). Tags
are suffixes, so ``<prefix><family>:<id>`` still starts every entry's key and
``cache_clear --pattern 'student:*'`` matches on both.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_BUCKETS", "KeyScheme"]

DEFAULT_BUCKETS = 16


class KeyScheme:
    """The keys under one prefix; ``cluster`` adds the hash tags (see the module's docstring)."""

    def __init__(self, prefix: str, *, cluster: bool = False, buckets: int = DEFAULT_BUCKETS) -> None:
        self.prefix = prefix
        self.cluster = cluster
        self.buckets = buckets
        # The cached querysets' keys all carry this tag (empty on a single Redis).
        self.queryset_tag = "{~q}" if cluster else ""

    # -- groups ------------------------------------------------------------------

    def group(self, family: str, ident: int | str) -> str:
        """The tag of ``family:ident``'s group; '' on a single Redis (one group)."""
        if not self.cluster:
            return ""
        bucket = ident % self.buckets if isinstance(ident, int) else int(str(ident)) % self.buckets
        return "{" + family + "/" + str(bucket) + "}"

    def family_groups(self, family: str) -> list[str]:
        """Every group ``family``'s entries may be in."""
        if not self.cluster:
            return [""]
        return ["{" + family + "/" + str(b) + "}" for b in range(self.buckets)]

    def every_group(self, families: Iterable[str]) -> list[str]:
        if not self.cluster:
            return [""]
        return [group for family in sorted(families) for group in self.family_groups(family)]

    # -- family entries ----------------------------------------------------------

    def entry(self, family: str, ident: int) -> str:
        return f"{self.prefix}{family}:{ident}{self.group(family, ident)}"

    def tombstone(self, family: str, ident: int) -> str:
        return f"{self.prefix}~tomb:{family}:{ident}{self.group(family, ident)}"

    def lock(self, family: str, ident: int) -> str:
        return f"{self.prefix}~lock:{family}:{ident}{self.group(family, ident)}"

    def seq(self, group: str) -> str:
        """The group's invalidation counter."""
        return f"{self.prefix}~seq{group}"

    def all_tombstone(self, group: str) -> str:
        """The group's tombstone for a flush of everything."""
        return f"{self.prefix}~tomb:*{group}"

    def family_tombstone(self, family: str, group: str) -> str:
        """The group's tombstone for a flush of all of ``family``."""
        return f"{self.prefix}~tomb:{family}:*{group}"

    # -- cached querysets --------------------------------------------------------

    def queryset_entry(self, digest: str) -> str:
        return f"{self.prefix}qs:{digest}{self.queryset_tag}"

    def queryset_lock(self, digest: str) -> str:
        return f"{self.prefix}~qlock:{digest}{self.queryset_tag}"
