"""The server's own view of the slowest statements, from ``pg_stat_statements`` when it is there.

The extension must be in ``shared_preload_libraries`` *and* created in the
database; neither is done here (both need a superuser, the first a restart),
so the report says plainly which part is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from psycopg import sql

from growthcompass.db.monitoring.direct import connect_direct


@dataclass(frozen=True)
class ServerStatement:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass(frozen=True)
class StatStatements:
    available: bool
    reason: str = ""
    by_total: list[ServerStatement] = field(default_factory=list)
    by_mean: list[ServerStatement] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_TOP = """
SELECT query, calls, total_exec_time, mean_exec_time, rows
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY {order} DESC
 LIMIT %s
"""


def stat_statements(top: int = 10, *, using: str = "default") -> StatStatements:
    """Top statements by total and by mean execution time, or why they cannot be had."""
    try:
        with connect_direct(using, timeout_s=settings.HEALTH_TIMEOUT_S, statement_timeout_ms=10_000) as conn:
            on_server = conn.execute(
                "SELECT installed_version FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
            ).fetchone()
            if on_server is None:
                return StatStatements(False, "the pg_stat_statements extension is not installed on this server")
            preload_row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
            preload = str(preload_row[0]) if preload_row else ""
            missing = []
            if "pg_stat_statements" not in preload:
                missing.append(
                    f"the server does not load it (shared_preload_libraries = {preload!r}; adding it needs a restart)"
                )
            if on_server[0] is None:
                missing.append("it is not created in this database (CREATE EXTENSION pg_stat_statements)")
            if missing:
                return StatStatements(False, "; ".join(missing))
            results = {}
            for order in ("total_exec_time", "mean_exec_time"):
                query = sql.SQL(_TOP).format(order=sql.Identifier(order))
                rows = conn.execute(query, [top]).fetchall()
                results[order] = [ServerStatement(q, int(c), float(t), float(m), int(r)) for q, c, t, m, r in rows]
    except psycopg.Error as exc:
        return StatStatements(False, f"pg_stat_statements is not usable: {str(exc).strip()}")
    return StatStatements(True, "", results["total_exec_time"], results["mean_exec_time"])
