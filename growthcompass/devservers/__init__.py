"""Embedded development servers: PostgreSQL and Redis from pip-installed packages.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, ``settings.py`` calls
``ensure_postgres`` / ``ensure_redis``, which start real servers with their
state under the git-ignored ``<repo>/.devdata/`` and return URLs for them.
The servers outlive the process that started them and are reused by later
runs; a crashed or killed server is cleaned up after and restarted.

This package must not import Django: settings import it before Django is
configured. ``python -m growthcompass.devservers start|stop|status`` manages
the servers by hand.
"""

from __future__ import annotations

from growthcompass.devservers._common import DevServerError
from growthcompass.devservers.postgres import (
    PostgresStatus,
    bin_dir,
    database_url,
    ensure_postgres,
    ensure_postgres_roles,
    postgres_status,
    stop_postgres,
)
from growthcompass.devservers.redis import RedisStatus, ensure_redis, redis_status, redis_url, stop_redis

__all__ = [
    "DevServerError",
    "PostgresStatus",
    "RedisStatus",
    "bin_dir",
    "database_url",
    "ensure_postgres",
    "ensure_postgres_roles",
    "ensure_redis",
    "postgres_status",
    "redis_status",
    "redis_url",
    "stop_postgres",
    "stop_redis",
]
