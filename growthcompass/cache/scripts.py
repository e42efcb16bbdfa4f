"""Lua scripts run atomically by Redis: the invalidation and the guarded fill.

How they avoid the stale-repopulate race (a reader that loaded a row before
a write commits stores the old value after the write's invalidation):

* ``~seq`` counts invalidations. A reader reads it *before* querying
  PostgreSQL and passes it to FILL.
* INVALIDATE increments ``~seq`` and, atomically with deleting an entry,
  leaves a short-lived tombstone holding the new ``~seq`` value (per entry,
  per family for a family flush, ``~tomb:*`` for a flush of everything).
* FILL stores an entry only if no tombstone that covers it is newer than the
  reader's ``~seq``: an invalidation newer than the reader's start may have
  come from a commit the reader's query did not see. An older one came from
  a commit the query did see (an invalidation only ever follows its commit).
* If ``~seq`` went backwards (Redis restarted and lost it) nothing is stored.

Tombstones live ``CACHE_TOMBSTONE_TTL_S`` (longer than any loader query may
run); a reader slower than half of that does not store at all.
"""

from __future__ import annotations

# KEYS[1]: ~seq
# KEYS[2 .. 2n+1]: (entry, tombstone) pairs; KEYS[2n+2 ..]: family or global tombstones
# ARGV[1]: n, ARGV[2]: tombstone TTL in seconds, ARGV[3]: pub/sub channel, ARGV[4]: message ('' = none)
# Returns how many of the entries existed.
INVALIDATE = """
local seq = redis.call('INCR', KEYS[1])
local n = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local deleted = 0
for i = 2, 2 * n, 2 do
  deleted = deleted + redis.call('UNLINK', KEYS[i])
  redis.call('SET', KEYS[i + 1], seq, 'EX', ttl)
end
for i = 2 * n + 2, #KEYS do
  redis.call('SET', KEYS[i], seq, 'EX', ttl)
end
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return deleted
"""

# KEYS[1]: ~seq, KEYS[2]: ~tomb:*, KEYS[3]: the family's tombstone, KEYS[4]: stampede lock
# KEYS[5 ..]: (entry, tombstone) pairs
# ARGV[1]: the reader's ~seq, ARGV[2]: TTL in seconds, ARGV[3]: lock token ('' = no lock), ARGV[4 ..]: values
# Returns the number of entries stored.
FILL = """
local mine = tonumber(ARGV[1])
local stored = 0
if tonumber(redis.call('GET', KEYS[1]) or '0') >= mine
   and tonumber(redis.call('GET', KEYS[2]) or '0') <= mine
   and tonumber(redis.call('GET', KEYS[3]) or '0') <= mine then
  local ttl = tonumber(ARGV[2])
  local v = 4
  for i = 5, #KEYS, 2 do
    if tonumber(redis.call('GET', KEYS[i + 1]) or '0') <= mine then
      redis.call('SET', KEYS[i], ARGV[v], 'EX', ttl)
      stored = stored + 1
    end
    v = v + 1
  end
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) == ARGV[3] then
  redis.call('DEL', KEYS[4])
end
return stored
"""

# KEYS[1]: a stampede lock; ARGV[1]: its token. Deletes the lock only if it is still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
