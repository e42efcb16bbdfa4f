"""Health checks for the databases: the primary, the replica, unapplied migrations.

The primary and the replica are probed over a fresh connection of their own
(``HEALTH_TIMEOUT_S`` to connect, the same as statement timeout), not
through the pool: the round trip measured is the server's, and a server that
is down or hanging fails the check in seconds instead of queueing.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from growthcompass.db.monitoring.direct import connect_direct
from growthcompass.health import CheckResult, register

REPLICA_ALIAS = "replica"
_PINGS = 3


def _where(alias: str) -> str:
    """``host:port/dbname`` of ``alias`` -- never the password."""
    config = connections.settings[alias]
    host = config.get("HOST") or "local socket"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"{host}{port}/{config.get('NAME')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _probe(alias: str, extra_query: str) -> tuple[float, float, tuple[Any, ...]]:
    """``(connect ms, median round trip ms, extra_query's row)`` over a fresh connection."""
    timeout = settings.HEALTH_TIMEOUT_S
    started = time.perf_counter()
    with connect_direct(alias, timeout_s=timeout, statement_timeout_ms=round(timeout * 1000)) as connection:
        connect_ms = (time.perf_counter() - started) * 1000
        pings = []
        for _ in range(_PINGS):
            ping_started = time.perf_counter()
            connection.execute("SELECT 1").fetchone()
            pings.append((time.perf_counter() - ping_started) * 1000)
        row = connection.execute(extra_query).fetchone()
    return connect_ms, statistics.median(pings), tuple(row or ())


@register("database")
def database_check() -> CheckResult:
    return check_primary("default")


def check_primary(alias: str, name: str = "database") -> CheckResult:
    """``alias`` answers, quickly, and accepts writes."""
    try:
        connect_ms, rtt_ms, (in_recovery, version) = _probe(
            alias, "SELECT pg_is_in_recovery(), current_setting('server_version')"
        )
    except psycopg.Error as exc:
        return CheckResult(name, False, f"primary database {_where(alias)} unreachable: {_first_line(exc)}")
    data = {"round_trip_ms": rtt_ms, "connect_ms": connect_ms, "server_version": version}
    if in_recovery:
        return CheckResult(name, False, f"primary database {_where(alias)} is read-only (in recovery)", data=data)
    return CheckResult(
        name, True, f"round trip {rtt_ms:.2f} ms (connect {connect_ms:.1f} ms), PostgreSQL {version}", data=data
    )


_REPLICA_STATE = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() IS NOT NULL
             AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
       END
"""


@register("replica")
def replica_check() -> CheckResult:
    if REPLICA_ALIAS not in settings.DATABASES:
        return CheckResult("replica", True, "no replica configured", data={"configured": False})
    return check_replica(REPLICA_ALIAS)


def check_replica(alias: str, name: str = "replica") -> CheckResult:
    """When a replica is configured: it answers, is a standby, and lags less than ``HEALTH_REPLICA_MAX_LAG_S``.

    Lag is zero when everything received has been replayed (an idle primary
    sends nothing, and the time since the last replayed transaction would
    otherwise grow forever); otherwise it is the age of the last replayed
    transaction.
    """
    try:
        connect_ms, rtt_ms, (in_recovery, lag_s) = _probe(alias, _REPLICA_STATE)
    except psycopg.Error as exc:
        return CheckResult(name, False, f"replica {_where(alias)} unreachable: {_first_line(exc)}")
    data = {"configured": True, "round_trip_ms": rtt_ms, "connect_ms": connect_ms, "lag_s": lag_s}
    if not in_recovery:
        return CheckResult(name, False, f"replica {_where(alias)} is not in recovery: it is a primary", data=data)
    limit = settings.HEALTH_REPLICA_MAX_LAG_S
    if lag_s is None:
        return CheckResult(name, True, f"round trip {rtt_ms:.2f} ms, lag unknown (nothing replayed yet)", data=data)
    if lag_s > limit:
        return CheckResult(name, False, f"replica lags {lag_s:.1f} s behind the primary (limit {limit:g} s)", data=data)
    return CheckResult(name, True, f"round trip {rtt_ms:.2f} ms, lag {lag_s:.2f} s", data=data)


@register("unapplied_migrations")
def unapplied_migrations_check() -> CheckResult:
    """Every migration on disk is applied to the primary."""
    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    if pending:
        shown = ", ".join(pending[:5]) + (f" and {len(pending) - 5} more" if len(pending) > 5 else "")
        return CheckResult(
            "unapplied_migrations",
            False,
            f"{len(pending)} unapplied migration(s): {shown}; run manage.py migrate",
            data={"unapplied": pending},
        )
    return CheckResult("unapplied_migrations", True, "all migrations applied", data={"unapplied": []})
