"""Fixtures for monitoring and health tests: extra database aliases and servers that misbehave."""

from __future__ import annotations

import copy
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections

from growthcompass.db.monitoring import tracker


@contextmanager
def extra_alias(alias: str, **overrides: Any) -> Iterator[str]:
    """A database alias like ``default`` (its test database) with ``overrides``, for this block."""
    config = copy.deepcopy(connections.settings["default"])
    config.update(overrides)
    connections.settings[alias] = config
    try:
        yield alias
    finally:
        try:
            connections[alias].close()
        except Exception:  # noqa: S110 - it may never have connected
            pass
        del connections[alias]
        del connections.settings[alias]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word (a hung server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (a server that is down)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def fresh_metrics() -> Iterator[Callable[[], None]]:
    """Start the test with empty query metrics; returns the reset function for mid-test use."""
    tracker.reset()
    yield tracker.reset
    tracker.reset()
