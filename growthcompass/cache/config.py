"""Build Django's ``CACHES`` from a ``REDIS_URL`` (django-redis)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_REDIS_SCHEMES = {"redis", "rediss", "unix"}


def caches_from_url(url: str, *, key_prefix: str, variable: str = "REDIS_URL") -> dict[str, Any]:
    scheme = urlsplit(url).scheme
    if scheme not in _REDIS_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} must be a Redis URL (redis://host:port/db, rediss://..., or unix:///path/redis.sock?db=0); "
            f"got scheme {scheme!r}"
        )
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
            "VERSION": 1,
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "CONNECTION_POOL_KWARGS": {"max_connections": 50, "health_check_interval": 30},
            },
        }
    }
