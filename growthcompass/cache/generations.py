"""Per-table generations in Redis: what invalidates cached querysets, and the race guard that stores them.

A cached queryset (``growthcompass.cache.querysets``) depends on every table
its statements read. Its entry is a plain key, so a hit is one ``GET``; what
keeps it fresh is that moving a table's generation deletes it:

* ``~qseq`` counts table bumps; ``~qepoch`` is a random token created the
  first time anyone reads the counter, so it changes when Redis loses its data.
* BUMP (a committed write to a table: the trigger's NOTIFY, or this process's
  own write on commit) increments ``~qseq``, records it as the table's
  generation ``~qgen:<table>``, and unlinks every entry listed in the table's
  dependants set ``~qdeps:<table>``, all in one script.
* A reader reads ``(~qepoch, ~qseq)`` *before* its query and hands them to
  FILL, which stores the entry -- and adds it to the dependants set of each
  table it read -- only if the epoch is unchanged and no table it read moved
  past the reader's ``~qseq``. A bump after the fill finds the entry in the
  set and deletes it; a bump between the read of ``~qseq`` and the fill
  refuses the fill. A generation only ever moves after its commit, so a bump
  older than the reader's ``~qseq`` came from a commit the query saw.
* Redis restarting empty loses the epoch: every fill that began before is
  refused, and every entry is gone with it.

The tables' names come from frozen trigger SQL and from the ORM: this module
treats them as opaque strings.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from redis import Redis

__all__ = ["ReaderMark", "TableGenerations"]

# KEYS[1]: ~qseq; KEYS[2 .. n+1]: ~qgen:<table>; KEYS[n+2 .. 2n+1]: ~qdeps:<table>
# ARGV[1]: n. Returns how many entries existed.
BUMP = """
local seq = redis.call('INCR', KEYS[1])
local n = tonumber(ARGV[1])
local deleted = 0
for i = 2, n + 1 do
  redis.call('SET', KEYS[i], seq)
  local deps = KEYS[i + n]
  local members = redis.call('SMEMBERS', deps)
  for j = 1, #members, 500 do
    deleted = deleted + redis.call('UNLINK', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', deps)
end
return deleted
"""

# KEYS[1]: ~qepoch; KEYS[2]: the entry; KEYS[3]: the stampede lock
# KEYS[4 .. n+3]: ~qgen:<table>; KEYS[n+4 .. 2n+3]: ~qdeps:<table>
# ARGV[1]: n, ARGV[2]: the reader's epoch, ARGV[3]: the reader's ~qseq, ARGV[4]: TTL s,
# ARGV[5]: the value ('' = store nothing, only release the lock), ARGV[6]: lock token ('' = none)
# Returns 1 if stored.
FILL = """
local n = tonumber(ARGV[1])
local mine = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local stored = 0
if ARGV[5] ~= '' and redis.call('GET', KEYS[1]) == ARGV[2] then
  local fresh = true
  for i = 4, n + 3 do
    if tonumber(redis.call('GET', KEYS[i]) or '0') > mine then
      fresh = false
      break
    end
  end
  if fresh then
    redis.call('SET', KEYS[2], ARGV[5], 'EX', ttl)
    for i = n + 4, 2 * n + 3 do
      redis.call('SADD', KEYS[i], KEYS[2])
      if redis.call('TTL', KEYS[i]) < ttl then
        redis.call('EXPIRE', KEYS[i], ttl)
      end
    end
    stored = 1
  end
end
if ARGV[6] ~= '' and redis.call('GET', KEYS[3]) == ARGV[6] then
  redis.call('DEL', KEYS[3])
end
return stored
"""

ReaderMark = tuple[str, int]
"""``(epoch, ~qseq)`` read before a query: what FILL checks the tables against."""


# The epoch in place, or ARGV[1] set as the epoch when there is none; works on Redis 6 and 7.
CLAIM_EPOCH = """
local current = redis.call('GET', KEYS[1])
if current then
  return current
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""


class TableGenerations:
    """The generations of the tables cached querysets read, under one key prefix."""

    def __init__(self, client: Redis, prefix: str, tag: str = "") -> None:
        """``tag``: the queryset keys' hash tag on a Redis Cluster (``KeyScheme.queryset_tag``), each key's suffix."""
        self.client = client
        self.prefix = prefix
        self.tag = tag
        self.seq_key = prefix + "~qseq" + tag
        self.epoch_key = prefix + "~qepoch" + tag
        self._bump = client.register_script(BUMP)
        self._fill = client.register_script(FILL)
        self._claim_epoch = client.register_script(CLAIM_EPOCH)

    def generation_key(self, table: str) -> str:
        return f"{self.prefix}~qgen:{table}{self.tag}"

    def dependants_key(self, table: str) -> str:
        return f"{self.prefix}~qdeps:{table}{self.tag}"

    def generation(self, table: str) -> int:
        """The table's generation (0 if it never moved since Redis started)."""
        return int(self.client.get(self.generation_key(table)) or 0)

    def bump(self, tables: Iterable[str]) -> int:
        """Move the tables' generations and delete every entry that read them; returns how many existed."""
        names = sorted(set(tables))
        if not names:
            return 0
        keys = [self.seq_key, *(self.generation_key(t) for t in names), *(self.dependants_key(t) for t in names)]
        return int(self._bump(keys=keys, args=[len(names)]))

    def bump_all(self, known_tables: Iterable[str] = ()) -> int:
        """Move every table's generation: ``known_tables`` and every table an entry depends on.

        For a listener that (re)connects, or anything else that may have
        missed invalidations: nothing stored before is served after.
        """
        tables = set(known_tables)
        start = len(self.prefix) + len("~qdeps:")
        pattern = _glob_escape(self.prefix) + "~qdeps:*"
        for raw in self.client.scan_iter(match=pattern, count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            tables.add(key[start : len(key) - len(self.tag)] if self.tag else key[start:])
        return self.bump(tables)

    def mark(self) -> ReaderMark:
        """``(epoch, ~qseq)`` now; read it before the query whose rows will be stored."""
        epoch_raw, seq_raw = self.client.mget([self.epoch_key, self.seq_key])
        if epoch_raw is None:
            token = secrets.token_hex(8)
            # The epoch somebody else set first wins (a script: SET NX GET needs Redis 7).
            epoch_raw = self._claim_epoch(keys=[self.epoch_key], args=[token])
            seq_raw = self.client.get(self.seq_key)
        epoch = epoch_raw.decode() if isinstance(epoch_raw, bytes) else str(epoch_raw)
        return epoch, int(seq_raw or 0)

    def fill(
        self,
        key: str,
        value: bytes,
        *,
        tables: Sequence[str],
        mark: ReaderMark,
        ttl_s: int,
        lock_key: str = "",
        token: str = "",
    ) -> bool:
        """Store ``value`` under ``key`` unless a table it read moved after ``mark``; release the lock."""
        names = sorted(set(tables))
        keys = [
            self.epoch_key,
            key,
            lock_key or key,
            *(self.generation_key(t) for t in names),
            *(self.dependants_key(t) for t in names),
        ]
        args: list[str | int | bytes] = [len(names), mark[0], mark[1], ttl_s, value, token]
        return bool(self._fill(keys=keys, args=args))

    def release(self, lock_key: str, token: str) -> None:
        """Release a stampede lock without storing anything."""
        self._fill(keys=[self.epoch_key, lock_key, lock_key], args=[0, "", 0, 1, "", token])


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
