"""Build Django's ``DATABASES`` entries from the environment.

psycopg 3's pool is used through Django's native ``OPTIONS["pool"]`` support,
with health checks on: the pool tests a connection before handing it out, so
a connection the server dropped (a restart, a failover) is replaced instead of
failing the next query. Every connection gets a ``statement_timeout`` so a
runaway query is cancelled by the server instead of holding a pooled
connection forever, and a ``connect_timeout`` so an unreachable server fails
fast.

In production a connection to any non-local host must use TLS
(``sslmode=require`` or stronger) unless ``DATABASE_SSLMODE`` chooses the mode
explicitly; plaintext is refused at start-up with a message saying how to fix it.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
from collections.abc import Mapping
from typing import Any, TypedDict
from urllib.parse import quote, urlencode, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from growthcompass.env import env_float, env_int, env_str

_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
TLS_SSLMODES = frozenset({"require", "verify-ca", "verify-full"})
# How long the pool keeps retrying (with doubling pauses) to replace a connection it lost.
# psycopg's default is 5 minutes: after an outage of N seconds its retries are up to ~N
# seconds apart and hold the pool's slots, so clients kept getting PoolTimeout for seconds
# after the server was back. Giving up early frees the slot; the next client that waits
# grows the pool again at once (tests/faults/test_postgres_restart.py).
POOL_RECONNECT_TIMEOUT_S = 5.0
# PG* variables a database can be described with when DATABASE_URL is unset.
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE")


class ConnectionOptions(TypedDict):
    """The keyword arguments ``database_from_url`` takes besides the URL, as read from the environment."""

    pool_min_size: int
    pool_max_size: int
    pool_timeout_s: float
    pool_max_idle_s: float
    statement_timeout_ms: int
    connect_timeout_s: int
    require_tls: bool
    sslmode: str | None


def connection_options_from_environment(*, production: bool) -> ConnectionOptions:
    """Pool size and timeouts from ``DB_*`` variables, TLS rules from ``DJANGO_ENV`` and ``DATABASE_SSLMODE``."""
    return ConnectionOptions(
        pool_min_size=env_int("DB_POOL_MIN_SIZE", 2, minimum=0),
        pool_max_size=env_int("DB_POOL_MAX_SIZE", 20, minimum=1),
        pool_timeout_s=env_float("DB_POOL_TIMEOUT", 2.0, minimum=0.1),
        pool_max_idle_s=env_float("DB_POOL_MAX_IDLE", 30.0, minimum=1.0),
        statement_timeout_ms=env_int("DB_STATEMENT_TIMEOUT_MS", 30_000, minimum=0),
        connect_timeout_s=env_int("DB_CONNECT_TIMEOUT", 5, minimum=1),
        require_tls=production,
        sslmode=env_str("DATABASE_SSLMODE"),
    )


def database_from_url(
    url: str,
    *,
    variable: str = "DATABASE_URL",
    pool_min_size: int = 2,
    pool_max_size: int = 20,
    pool_timeout_s: float = 2.0,
    pool_max_idle_s: float = 30.0,
    statement_timeout_ms: int = 30_000,
    connect_timeout_s: int = 5,
    application_name: str = "growthcompass",
    require_tls: bool = False,
    sslmode: str | None = None,
    sslmode_variable: str = "DATABASE_SSLMODE",
) -> dict[str, Any]:
    """Return a ``DATABASES`` entry for ``url``; ``variable`` names it in errors.

    ``sslmode`` (from ``DATABASE_SSLMODE``) overrides the URL's own
    ``sslmode``. With ``require_tls`` (production), a non-local host without
    ``sslmode`` of require/verify-ca/verify-full is refused unless ``sslmode``
    was given explicitly.
    """
    scheme = urlsplit(url).scheme
    if scheme not in _POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} must be a PostgreSQL URL (postgres://user:password@host:port/dbname, "
            f"or postgres://user@%2Fsocket%2Fdir/dbname for a unix socket); got scheme {scheme!r}"
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} is malformed: {exc}") from exc
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{variable} must name a database (the path part of the URL)")
    config["ENGINE"] = "django.db.backends.postgresql"
    # A pool and persistent connections are mutually exclusive in Django.
    config["CONN_MAX_AGE"] = 0
    # With a pool, Django passes this on as the pool's ``check``: each
    # connection is tested before it is handed out.
    config["CONN_HEALTH_CHECKS"] = True
    options: dict[str, Any] = dict(config.get("OPTIONS") or {})
    url_sslmode = options.get("sslmode")
    if url_sslmode is not None and url_sslmode not in SSLMODES:
        raise ImproperlyConfigured(f"{variable} has sslmode={url_sslmode!r}; expected one of {', '.join(SSLMODES)}")
    if sslmode is not None and sslmode.strip():
        chosen = sslmode.strip().lower()
        if chosen not in SSLMODES:
            raise ImproperlyConfigured(f"{sslmode_variable} must be one of {', '.join(SSLMODES)}; got {sslmode!r}")
        options["sslmode"] = chosen
    elif require_tls:
        _refuse_plaintext(config, options.get("sslmode"), variable=variable, sslmode_variable=sslmode_variable)
    options.setdefault("connect_timeout", connect_timeout_s)
    options.setdefault("application_name", application_name)
    options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    options["pool"] = {
        "min_size": min(pool_min_size, pool_max_size),
        "max_size": pool_max_size,
        "timeout": pool_timeout_s,
        "max_idle": pool_max_idle_s,
        "reconnect_timeout": POOL_RECONNECT_TIMEOUT_S,
    }
    config["OPTIONS"] = options
    return config


def is_local_host(host: str | None) -> bool:
    """A unix socket (path or libpq default), ``localhost`` or a loopback address; lists must be all local."""
    if not host:
        return True
    for part in host.split(","):
        candidate = part.strip()
        if not candidate or candidate.startswith(("/", "@")) or candidate.lower() == "localhost":
            continue
        try:
            if ipaddress.ip_address(candidate.strip("[]")).is_loopback:
                continue
        except ValueError:
            pass
        return False
    return True


def _refuse_plaintext(config: Mapping[str, Any], sslmode: str | None, *, variable: str, sslmode_variable: str) -> None:
    host = config.get("HOST") or ""
    if sslmode in TLS_SSLMODES or is_local_host(host):
        return
    raise ImproperlyConfigured(
        f"{variable} connects to {host!r} without TLS (sslmode={sslmode or 'unset'}); in production a database on "
        f"another host must use sslmode=require, verify-ca or verify-full. Add ?sslmode=verify-full (or require) "
        f"to {variable}, or set {sslmode_variable} to choose the mode explicitly."
    )


def url_from_pg_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """A PostgreSQL URL built from libpq's ``PG*`` variables, or None when neither PGHOST nor PGDATABASE is set.

    The fallback for deployments that describe the database the libpq way;
    ``PGPASSWORD_FILE`` works like every other ``*_FILE`` secret.
    """
    env = os.environ if environ is None else environ
    host = env.get("PGHOST", "")
    database = env.get("PGDATABASE", "")
    if not host and not database:
        return None
    user = env.get("PGUSER", "")
    password = env.get("PGPASSWORD")
    if password is None and env.get("PGPASSWORD_FILE"):
        try:
            with open(env["PGPASSWORD_FILE"], encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"PGPASSWORD_FILE points at {env['PGPASSWORD_FILE']!r}, which cannot be read: {exc.strerror}"
            ) from exc
    port = env.get("PGPORT", "")
    if port and not port.isdigit():
        raise ImproperlyConfigured(f"PGPORT must be a port number; got {port!r}")
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    location = quote(host, safe="") + (f":{port}" if port else "")
    # libpq's default database is the user's name.
    name = database or user or getpass.getuser()
    query = {"sslmode": env["PGSSLMODE"]} if env.get("PGSSLMODE") else {}
    suffix = f"?{urlencode(query)}" if query else ""
    authority = f"{credentials}@{location}" if credentials else location
    return f"postgres://{authority}/{quote(name, safe='')}{suffix}"


def replica_from_url(url: str, *, testing: bool = False, **kwargs: Any) -> dict[str, Any]:
    """The ``replica`` alias from ``REPLICA_DATABASE_URL``; under test it mirrors ``default``.

    A test database exists only on the primary; the mirror makes the replica
    alias use it instead of creating a second one.
    """
    config = database_from_url(url, variable="REPLICA_DATABASE_URL", **kwargs)
    if testing:
        config["TEST"] = {"MIRROR": "default"}
    return config
