"""A short-lived psycopg connection outside Django's pool, with tight timeouts.

Health checks want the server's own round trip (not a pool queue's) and must
fail fast when it is down; EXPLAIN wants a session whose prepared statements
and settings die with it. Both use the alias's settings but not its pool; behind
a transaction pooler EXPLAIN goes to ``DATABASE_DIRECT_URL`` (``growthcompass.db.pooler``),
since a pooled "session" shares its server connection with other clients.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
from django.db import connections

from growthcompass.db.pooler import accepts_startup_options, pooler_of, session_connection_params

# Django's own cursor classes and adapters are for Django's cursors; a plain session needs neither.
_DJANGO_ONLY = ("cursor_factory", "context", "prepare_threshold")


def connect_direct(
    alias: str = "default",
    *,
    timeout_s: float,
    statement_timeout_ms: int | None = None,
    autocommit: bool = True,
    session: bool = False,
) -> psycopg.Connection[Any]:
    """Open a new connection to ``alias``; ``timeout_s`` bounds the connect (libpq's minimum is 2 s).

    ``session=True`` is for work that needs a real session of its own (a named prepared statement):
    behind a transaction pooler it goes around it. Otherwise the connection takes the alias's own
    route, pooler included, so a health check sees what the application sees; behind a pooler the
    ``statement_timeout`` startup option (which the pooler refuses) is then left out.
    """
    params = session_connection_params(alias) if session else dict(connections[alias].get_connection_params())
    for key in _DJANGO_ONLY:
        params.pop(key, None)
    params["connect_timeout"] = max(2, math.ceil(timeout_s))
    takes_options = accepts_startup_options(alias) if session else pooler_of(alias) is None
    if statement_timeout_ms is not None and takes_options:
        params["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
    params["application_name"] = f"{params.get('application_name') or 'growthcompass'}-monitoring"
    return psycopg.connect(autocommit=autocommit, **params)
