"""Notice that the Redis behind the store is another server than before, and treat it like a restart.

A Sentinel failover promotes a replica, which has every key the lost primary
had *except* the last writes it had not yet replicated -- and some of those
writes may be invalidations. An entry whose invalidation was lost would then
be served stale until its TTL. The same holds for a Redis Cluster master
replaced by its replica, and for a Redis restarted from a snapshot.

A restart that loses everything is already handled where the data is: the
fill scripts refuse to store when ``~seq`` went backwards or ``~qepoch``
vanished, and an empty Redis holds nothing stale. What this module adds is the
case where the data survives but the server changed: each store marks the
Redis it talks to with the server's identity (``run_id``, which a promoted
replica, a restarted process or a replaced cluster master does not share) in
the key ``<prefix>~server``, which replicates with everything else. A store
that finds the mark naming another server invalidates everything -- every
family entry (``flush_all``) and every table generation, as the listener does
on a reconnect -- and marks the new server. Several stores may notice at
once; each flush is complete and safe to repeat.

When a store checks: before its first read after a Redis error (every process
that was using Redis during a failover lost its connections, so it saw one),
and on its periodic maintenance turn (``CACHE_STATS_FLUSH_INTERVAL_S``,
1 s) -- which runs before the read that finds it due, so an idle process
checks before it reads again too.
"""

from __future__ import annotations

from typing import Any

from redis.cluster import RedisCluster

__all__ = ["identity_and_mark"]


def identity_and_mark(client: Any, mark_key: str) -> tuple[str, str | None]:
    """``(identity of the server(s) answering, what the mark names or None)``.

    The identity is the ``run_id`` of the Redis answering ``client``; on a
    cluster every master's, sorted and joined. On one Redis both come in one
    pipelined round trip (this runs once a second on the read path).
    """
    if isinstance(client, RedisCluster):
        infos = client.info("server", target_nodes=RedisCluster.PRIMARIES)
        # One node answers with its info itself, several with {node name: info}.
        if "run_id" in infos:
            identity = str(infos["run_id"])
        else:
            identity = ",".join(sorted(str(info["run_id"]) for info in infos.values()))
        marked = client.get(mark_key)
    else:
        pipe = client.pipeline(transaction=False)
        pipe.info("server")
        pipe.get(mark_key)
        info, marked = pipe.execute()
        identity = str(info["run_id"])
    if marked is None:
        return identity, None
    return identity, marked.decode() if isinstance(marked, bytes) else str(marked)
