"""A throwaway PgBouncer (Debian's ``pgbouncer``) in transaction mode on loopback, for tests and benchmarks.

``LocalPgBouncer(upstream_url)`` writes a config file into a fresh temporary
directory, starts ``pgbouncer`` in the foreground on a free 127.0.0.1 port and
stops it (and removes the directory) on ``stop()``. Every database of the
upstream server is served (``* = host=... port=...``), so the test database
pytest-django creates and drops goes through it too. Authentication is
``trust`` on loopback for the upstream URL's user, who is also the admin
console's user (``KILL``/``RESUME`` release a database's server connections
before it is dropped).

``python -m growthcompass.devservers.pgbouncer exec -- CMD...`` runs CMD with
``DATABASE_URL`` pointing at a PgBouncer in front of ``DATABASE_URL`` (or the
embedded server when it is unset), ``DATABASE_DIRECT_URL`` at the server itself
and ``DATABASE_POOLER=pgbouncer``; the owner (``MIGRATION_DATABASE_URL``, or the
embedded server's superuser) goes through the same PgBouncer, so row-level
security's two roles both do. ``make test-pgbouncer`` runs the suite that way.

Like the rest of this package, nothing here imports Django.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from growthcompass.devservers._common import DevServerError

PGBOUNCER = "pgbouncer"
INSTALL_HINT = "pgbouncer is not installed: run `make pgbouncer-deps` (Debian's pgbouncer package)"


def pgbouncer_binary() -> str | None:
    """The ``pgbouncer`` executable (on PATH or in /usr/sbin), or None when it is not installed."""
    return shutil.which(PGBOUNCER) or shutil.which(PGBOUNCER, path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> tuple[int, int] | None:
    """PgBouncer refuses to run as root: the uid/gid of an unprivileged account when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("pgserver", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise DevServerError("running as root and found no unprivileged account to run pgbouncer as")


class LocalPgBouncer:
    """One PgBouncer process in front of ``upstream_url``'s server; ``url(dbname)`` reaches it."""

    def __init__(
        self,
        upstream_url: str,
        *,
        pool_size: int = 20,
        max_client_conn: int = 1000,
        pool_mode: str = "transaction",
        also_users: Sequence[tuple[str, str]] = (),
    ) -> None:
        parts = urlsplit(upstream_url)
        # Other roles that may log in through it (auth_type = trust still wants them in auth_file).
        self.also_users = tuple(also_users)
        self.upstream_url = upstream_url
        self.host = unquote(parts.hostname or "") if parts.hostname else ""
        # urlsplit lower-cases and stops at the first '%2F'-free part; keep a socket directory as given.
        netloc_host = parts.netloc.rsplit("@", 1)[-1]
        if netloc_host.startswith("%2"):
            self.host = unquote(netloc_host.split(":", 1)[0])
        self.port = parts.port or 5432
        self.user = unquote(parts.username or "") or "postgres"
        self.password = unquote(parts.password or "")
        self.dbname = unquote(parts.path.lstrip("/")) or "postgres"
        self.query = parts.query
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.pool_mode = pool_mode
        self.listen_port = 0
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    # --- Addresses -------------------------------------------------------------------

    def url(self, dbname: str | None = None) -> str:
        credentials = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgres://{credentials}@127.0.0.1:{self.listen_port}/{quote(dbname or self.dbname, safe='')}"

    def admin_conninfo(self) -> str:
        password = f" password={self.password}" if self.password else ""
        return f"host=127.0.0.1 port={self.listen_port} dbname=pgbouncer user={self.user}{password}"

    @property
    def log_file(self) -> Path:
        if self.root is None:
            raise DevServerError("pgbouncer is not running")
        return self.root / "pgbouncer.log"

    # --- Life cycle --------------------------------------------------------------------

    def start(self, *, timeout_s: float = 10.0) -> LocalPgBouncer:
        binary = pgbouncer_binary()
        if binary is None:
            raise DevServerError(INSTALL_HINT)
        run_as = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="gc-pgbouncer-"))
        self.listen_port = free_port()
        config = self.root / "pgbouncer.ini"
        config.write_text(self._config(), encoding="utf-8")
        users = dict([(self.user, self.password), *self.also_users])
        (self.root / "userlist.txt").write_text(
            "".join(f'"{user}" "{password}"\n' for user, password in users.items()), encoding="utf-8"
        )
        kwargs: dict[str, Any] = {}
        if run_as is not None:
            for path in (self.root, *self.root.iterdir()):
                os.chown(path, *run_as)
            kwargs = {"user": run_as[0], "group": run_as[1], "extra_groups": []}
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and config
            [binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevServerError(f"pgbouncer exited at start ({self.process.returncode}): {self._log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.listen_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise DevServerError(f"pgbouncer did not listen on 127.0.0.1:{self.listen_port} within {timeout_s:g} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> LocalPgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"

    def _config(self) -> str:
        if self.root is None:
            raise DevServerError("pgbouncer has no directory yet")
        upstream = f"host={self.host} port={self.port}" if self.host else f"port={self.port}"
        return "\n".join(
            [
                "[databases]",
                # Every database, so the test database created and dropped by the suite is served too.
                f"* = {upstream}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.listen_port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self.root / 'userlist.txt'}",
                f"admin_users = {self.user}",
                f"pool_mode = {self.pool_mode}",
                f"default_pool_size = {self.pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                f"max_client_conn = {self.max_client_conn}",
                # Server connections to a database are closed soon after use, so a DROP DATABASE
                # right after a test run does not find the pooler still connected to it.
                "server_idle_timeout = 5",
                "server_lifetime = 3600",
                f"logfile = {self.log_file}",
                f"pidfile = {self.root / 'pgbouncer.pid'}",
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            ]
        )


def release_database(admin_conninfo: str, dbname: str) -> None:
    """Close PgBouncer's server connections to ``dbname`` (admin ``KILL``, then ``RESUME``), so it can be dropped."""
    import psycopg

    # The admin console speaks only the simple query protocol: a client-side-binding cursor uses it.
    with psycopg.connect(admin_conninfo, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(f'KILL "{dbname}"')
        conn.execute(f'RESUME "{dbname}"')


# --- Command line ---------------------------------------------------------------------------


def _upstream_urls() -> tuple[str, str | None]:
    """(the application's URL, the owner's URL or None): ``DATABASE_URL`` and ``MIGRATION_DATABASE_URL``.

    Unset, the embedded server's two roles, as settings use them: the application role (which
    row-level security binds) and the superuser who owns the tables.
    """
    url = os.environ.get("DATABASE_URL")
    owner = os.environ.get("MIGRATION_DATABASE_URL")
    if url:
        return url, owner
    from growthcompass.devservers import ensure_postgres_roles

    application, embedded_owner = ensure_postgres_roles(Path(__file__).resolve().parents[2])
    return application, owner or embedded_owner


def _through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the loopback PgBouncer's (user, password, database kept)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m growthcompass.devservers.pgbouncer",
        description="Run a command against a loopback PgBouncer (transaction mode) in front of DATABASE_URL "
        "(or the embedded PostgreSQL when it is unset).",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("exec", help="start PgBouncer, run the command after --, stop PgBouncer")
    run.add_argument("--pool-size", type=int, default=20, help="default_pool_size (default 20)")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if pgbouncer_binary() is None:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    upstream, owner = _upstream_urls()
    owner_parts = urlsplit(owner) if owner else None
    also = [(unquote(owner_parts.username or ""), unquote(owner_parts.password or ""))] if owner_parts else []
    with LocalPgBouncer(upstream, pool_size=args.pool_size, also_users=also) as bouncer:
        env = {
            **os.environ,
            "DATABASE_URL": bouncer.url() + (f"?{bouncer.query}" if bouncer.query else ""),
            "DATABASE_DIRECT_URL": upstream,
            "DATABASE_POOLER": "pgbouncer",
        }
        if owner:
            # The owner (row-level security's second role) reaches the same server through the same
            # PgBouncer: the suite switches to it only for aliases on the owner URL's server.
            env["MIGRATION_DATABASE_URL"] = _through(owner, bouncer.listen_port)
        print(f"PgBouncer (transaction mode) on 127.0.0.1:{bouncer.listen_port} in front of the database", flush=True)
        return subprocess.call(command, env=env)  # noqa: S603 - the caller's own command


if __name__ == "__main__":
    sys.exit(main())
