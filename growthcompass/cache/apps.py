"""Redis caching: configuration, cached selectors, invalidation and statistics."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES" or setting.startswith("CACHE_"):
        from growthcompass.cache.store import reset_store

        reset_store()


class CacheConfig(AppConfig):
    """Cache infrastructure as an app: it owns the invalidation triggers' migrations."""

    name = "growthcompass.cache"
    label = "gc_cache"
    verbose_name = "Cache"

    def ready(self) -> None:
        from growthcompass.cache import health  # noqa: F401 - registers the "redis" health check
        from growthcompass.cache.invalidation import connect_signals

        connect_signals()
        setting_changed.connect(_settings_changed, dispatch_uid="growthcompass.cache.settings_changed")
