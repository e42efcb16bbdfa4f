"""The invalidation listener of this process's store: what ``manage.py cache_listener`` runs.

The loop itself is ``growthcompass.cache.listen_loop``; this module binds it
to ``growthcompass.cache.runtime.get_store``, looked up on every batch so a
rebuilt store (a settings change) is followed. It sits above the runtime,
which never needs it: the in-process listener runs the loop on its own store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from growthcompass.cache.listen_loop import (
    APPLICATION_NAME,
    CHANNEL,
    InvalidationTarget,
    ListenLoop,
    listener_connection_params,
)
from growthcompass.cache.runtime import get_store

__all__ = ["APPLICATION_NAME", "CHANNEL", "InvalidationListener", "listener_connection_params", "start_listener_thread"]


class InvalidationListener(ListenLoop):
    """``ListenLoop`` on this process's store unless ``store_factory`` names another."""

    def __init__(self, *, store_factory: Callable[[], InvalidationTarget] = get_store, **options: Any) -> None:
        super().__init__(store_factory=store_factory, **options)


def start_listener_thread(**kwargs: Any) -> tuple[InvalidationListener, threading.Thread]:
    """Run an ``InvalidationListener`` in a daemon thread; stop it with ``listener.stop()``."""
    listener = InvalidationListener(**kwargs)
    return listener, listener.run_in_thread()
