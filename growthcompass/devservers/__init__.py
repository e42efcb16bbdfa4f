"""Embedded development servers: PostgreSQL and Redis from pip-installed packages.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, ``settings.py`` calls
``ensure_postgres`` / ``ensure_redis``, which start real servers with their
state under the git-ignored ``<repo>/.devdata/`` and return URLs for them.
The servers outlive the process that started them and are reused by later
runs; a crashed or killed server is cleaned up after and restarted.

This package must not import Django: settings import it before Django is
configured. ``python -m growthcompass.devservers start|stop|status`` manages
the servers by hand. With ``DEVSERVERS_AUTOSTART=0`` (what ``manage.py``
sets for ``healthcheck``) the settings only compute the URLs: a command that
reports on the servers finds them as they are, and never restarts one.
"""

from __future__ import annotations

from growthcompass.devservers._common import DevServerError
from growthcompass.devservers.postgres import (
    PostgresStatus,
    bin_dir,
    database_url,
    embedded_database_urls,
    ensure_postgres,
    ensure_postgres_roles,
    postgres_status,
    stop_postgres,
)
from growthcompass.devservers.redis import (
    RedisStatus,
    embedded_redis_url,
    ensure_redis,
    redis_status,
    redis_url,
    stop_redis,
)

__all__ = [
    "DevServerError",
    "PostgresStatus",
    "RedisStatus",
    "bin_dir",
    "database_url",
    "embedded_database_urls",
    "embedded_redis_url",
    "ensure_postgres",
    "ensure_postgres_roles",
    "ensure_redis",
    "postgres_status",
    "redis_status",
    "redis_url",
    "stop_postgres",
    "stop_redis",
]
