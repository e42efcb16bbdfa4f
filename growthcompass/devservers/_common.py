"""Helpers shared by the PostgreSQL and Redis development servers.

Nothing here imports Django: ``settings.py`` calls into this package before
Django is configured.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

DEVDATA_DIRNAME = ".devdata"

# sun_path is 108 bytes on Linux and 104 on macOS; stay well below both.
MAX_SOCKET_PATH_BYTES = 100


class DevServerError(RuntimeError):
    """An embedded development server could not be started, reached or stopped."""


def devdata_dir(root: Path) -> Path:
    """Return (and create) ``<root>/.devdata``, where all server state lives."""
    path = Path(root).resolve() / DEVDATA_DIRNAME
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the duration of the block.

    ``flock`` is released by the kernel when its holder dies, so a killed
    process can never leave the lock stuck. The descriptor is opened
    non-inheritable (Python's default), so a server spawned while the lock
    is held does not keep it after we exit.
    """
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_pid(path: Path) -> int | None:
    """The integer on the first line of a pid file, or None if missing or garbled."""
    try:
        first = path.read_text(encoding="utf-8", errors="replace").split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() and int(first) > 0 else None


def process(pid: int | None) -> psutil.Process | None:
    """The live process ``pid``; None if it does not exist or is a zombie.

    Zombies matter here: the container's pid 1 does not necessarily reap
    orphans, so a SIGKILLed server can linger as a zombie that ``kill(pid, 0)``
    still reports as alive.
    """
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc


def has_cwd(proc: psutil.Process, directory: Path) -> bool:
    """Whether ``proc`` runs in ``directory``.

    Both servers ``chdir`` into their own data directory, so the working
    directory identifies "our" server even when a pid has been recycled by
    an unrelated process of the same name.
    """
    try:
        return Path(proc.cwd()).resolve() == directory.resolve()
    except (psutil.Error, OSError):
        return False


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to ``timeout`` seconds for ``procs`` to exit; return the survivors."""
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if process(p.pid) is not None]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if process(p.pid) is not None]
    return alive


def terminate(procs: list[psutil.Process], timeout: float = 5.0) -> None:
    """SIGTERM ``procs``, then SIGKILL whatever is still alive after ``timeout``."""
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    for proc in wait_gone(procs, timeout):
        try:
            proc.kill()
        except psutil.Error:
            pass
    wait_gone(procs, 2.0)


def socket_dir_usable(directory: Path, socket_name: str) -> bool:
    """Whether a unix socket named ``socket_name`` in ``directory`` can be used.

    Two constraints: the kernel's ``sun_path`` limit, and lower case, because
    ``dj_database_url`` reads the socket directory from the URL's host part
    through ``urlsplit().hostname``, which lower-cases it.
    """
    fits = len(str(directory / socket_name).encode()) <= MAX_SOCKET_PATH_BYTES
    return fits and str(directory) == str(directory).lower()


def short_socket_dir(kind: str, key: Path) -> Path:
    """A short, lower-case fallback socket directory under ``/tmp``.

    Named after a hash of ``key`` (the data path) so that two checkouts never
    share one. ``/tmp`` is used literally rather than ``$TMPDIR``, which can
    itself be long or mixed-case (macOS).
    """
    digest = hashlib.sha256(str(key.resolve()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"gc-{kind}-{digest}"  # noqa: S108 - private, per-checkout directory


def remove_fallback_dir(directory: Path, devdata: Path) -> None:
    """After a stop, drop an (empty) ``/tmp`` fallback socket directory; keep in-tree ones."""
    if not directory.is_relative_to(devdata):
        try:
            directory.rmdir()
        except OSError:
            pass


def remove_quietly(*paths: Path) -> None:
    """Unlink files that may or may not exist."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(log {path} unreadable: {exc.strerror})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def rotate_log(path: Path, max_bytes: int = 10 * 1024 * 1024) -> None:
    """Keep one previous log once the current one grows past ``max_bytes``."""
    try:
        if path.stat().st_size > max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
