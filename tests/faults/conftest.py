"""Shared pieces of the fault and load tests: deadlines, threads, latency figures, a private Redis.

Every test in this package is ``@pytest.mark.slow``: it starts, kills or
restarts real servers (private ones, under a ``mkdtemp`` root in ``/tmp``,
listening on unix sockets only) or runs a bounded load. Nothing here mocks the
database or the cache. Time limits are deadlines against hangs, never
performance assertions; latencies are printed, not asserted.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings
from django.db import connections

from growthcompass import devservers


class Deadline:
    """A point in time a bounded step must finish by; ``poll`` waits for a condition until then."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.ends_at

    def poll(self, condition: Callable[[], bool], what: str, *, interval_s: float = 0.05) -> None:
        """Return once ``condition()`` is true; AssertionError naming ``what`` at the deadline."""
        while not condition():
            if self.expired:
                raise AssertionError(f"{what}: not within {self.seconds:g} s")
            time.sleep(interval_s)


def run_in_threads(count: int, target: Callable[[int], None], *, timeout_s: float) -> list[BaseException]:
    """Run ``target(0..count-1)`` in threads; return what they raised. Each thread gives its connections back."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # reported to the test, in its own thread
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"fault-worker-{i}", daemon=True) for i in range(count)]
    deadline = Deadline(timeout_s)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(deadline.remaining())
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {timeout_s:g} s: {stuck}"
    return errors


def private_root(kind: str) -> Path:
    """A fresh directory in ``/tmp`` for a private server (socket paths are length-limited, unlike tmp_path)."""
    return Path(tempfile.mkdtemp(prefix=f"gc-faults-{kind}-", dir="/tmp"))


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class PrivateRedis:
    """A ``redis-server`` of this test's own (``growthcompass.devservers``), which it may kill and restart."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = devservers.ensure_redis(root)

    @property
    def pid(self) -> int:
        pid = devservers.redis_status(self.root)["pid"]
        assert pid is not None, "the private Redis is not running"
        return pid

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no goodbye to clients) and wait until it is gone."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        Deadline(10).poll(lambda: not _alive(pid), f"redis-server {pid} exiting after SIGKILL")

    def start(self) -> None:
        """Start it again on the same socket (clearing what the killed one left behind)."""
        assert devservers.ensure_redis(self.root) == self.url

    def stop(self) -> None:
        devservers.stop_redis(self.root)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    root = private_root("redis")
    server = PrivateRedis(root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def delete_cache_keys(prefix: str) -> None:
    """Delete every key under ``prefix`` on the configured Redis (a test's own prefix, never a shared one)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()


def unique_cache_prefix() -> str:
    """A cache key prefix no other run has used.

    The test database is created afresh each run and hands out the same ids
    again, so a fixed prefix would find the previous run's entries for them.
    """
    return f"gc-faults-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cache_prefix() -> Iterator[str]:
    """``unique_cache_prefix()``, its keys deleted afterwards."""
    prefix = unique_cache_prefix()
    yield prefix
    delete_cache_keys(prefix)
