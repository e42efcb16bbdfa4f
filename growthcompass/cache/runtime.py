"""This process's cache store: built on first use, rebuilt after a fork or a settings change.

Building a store never starts the invalidation listener: a short-lived
process (``healthcheck``, ``dev_login``, ``shell``) must not add a listener,
or a log line, or a connection of its own. A server asks for one at start-up
with ``start_server_listener`` (``growthcompass.wsgi`` and ``growthcompass.asgi``,
which ``runserver`` also loads), when ``CACHE_LISTENER_IN_PROCESS`` is on and
the process is not the dedicated listener already (``manage.py cache_listener``
calls ``run_as_dedicated_listener``). The wish outlives the store: a store
rebuilt after a settings change or a fork starts the listener again. At exit
the store's last counts are flushed.
"""

from __future__ import annotations

import atexit
import os
import threading

from django.core.cache import caches

from growthcompass.cache.config import CacheOptions
from growthcompass.cache.store import CacheStore

__all__ = ["build_store", "get_store", "reset_store", "run_as_dedicated_listener", "start_server_listener"]

_store: CacheStore | None = None
_store_lock = threading.Lock()
# Set by ``manage.py cache_listener``: that process is the listener, so the
# in-process one (CACHE_LISTENER_IN_PROCESS) must not start a second.
_dedicated_listener = False
# Set by ``start_server_listener``: this process's store, whenever (re)built, runs the LISTEN loop.
_listener_wanted = False


def run_as_dedicated_listener() -> None:
    global _dedicated_listener
    _dedicated_listener = True


def start_server_listener() -> bool:
    """In a server process, run the invalidation listener as a thread when ``CACHE_LISTENER_IN_PROCESS`` is on.

    Returns whether this process now runs one. Called once at start-up by the
    WSGI and ASGI entry points; any later store of this process starts it too.
    """
    global _listener_wanted
    from django.conf import settings

    if _dedicated_listener or not settings.CACHE_LISTENER_IN_PROCESS:
        return False
    _listener_wanted = True
    store = get_store()
    store.start_listener()
    return True


def build_store(alias: str = "default", options: CacheOptions | None = None) -> CacheStore:
    """A store on Django's cache ``alias`` (its django-redis connection pool, key prefix and version).

    It never starts the LISTEN loop (``start_server_listener`` does, in a server).
    """
    from django_redis import get_redis_connection

    from growthcompass.cache.cluster import is_cluster
    from growthcompass.cache.keys import KeyScheme

    client = get_redis_connection(alias)
    options = options or CacheOptions.from_settings()
    prefix = caches[alias].make_key("")
    keys = KeyScheme(prefix, cluster=is_cluster(client), buckets=options.cluster_buckets)
    return CacheStore(client, prefix=prefix, options=options, keys=keys)


def get_store() -> CacheStore:
    """This process's store, built on first use from the settings."""
    global _store
    store = _store
    if store is None:
        with _store_lock:
            if _store is None:
                _store = build_store()
                if _listener_wanted and _store.options.listener_in_process and not _dedicated_listener:
                    _store.start_listener()
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
