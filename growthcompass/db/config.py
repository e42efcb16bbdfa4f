"""Build Django's ``DATABASES`` entry from a ``DATABASE_URL``.

psycopg 3's pool is used through Django's native ``OPTIONS["pool"]`` support;
every connection gets a ``statement_timeout`` so a runaway query is cancelled
by the server instead of holding a pooled connection forever.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


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
) -> dict[str, Any]:
    """Return a ``DATABASES`` entry for ``url``; ``variable`` names it in errors."""
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
    config["CONN_HEALTH_CHECKS"] = False
    options: dict[str, Any] = dict(config.get("OPTIONS") or {})
    options.setdefault("connect_timeout", connect_timeout_s)
    options.setdefault("application_name", application_name)
    options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    options["pool"] = {
        "min_size": min(pool_min_size, pool_max_size),
        "max_size": pool_max_size,
        "timeout": pool_timeout_s,
        "max_idle": pool_max_idle_s,
    }
    config["OPTIONS"] = options
    return config
