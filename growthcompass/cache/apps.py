from __future__ import annotations

from django.apps import AppConfig


class CacheConfig(AppConfig):
    """Cache infrastructure as an app: it owns the invalidation triggers' migrations."""

    name = "growthcompass.cache"
    label = "gc_cache"
    verbose_name = "Cache"
