"""Redis caching: configuration, cached selectors, invalidation and statistics."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES" or setting.startswith("CACHE_"):
        from growthcompass.cache.runtime import reset_store

        reset_store()


class CacheConfig(AppConfig):
    """Cache infrastructure as an app: it discovers the apps' cache families and owns the NOTIFY functions."""

    name = "growthcompass.cache"
    label = "gc_cache"
    verbose_name = "Cache"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from growthcompass.cache.invalidation import connect_signals
        from growthcompass.cache.registry import app_labels
        from growthcompass.cache.triggers import register_triggers

        # Every app's cache.py declares its families; then their triggers and ORM receivers are generated.
        autodiscover_modules("cache")
        for app_label in app_labels():
            register_triggers(app_label)
        connect_signals()
        # Cached querysets: a table trigger on every project table, and this process's own writes noted.
        from growthcompass.cache.querysets import connect_write_notes
        from growthcompass.cache.table_triggers import register_table_triggers

        register_table_triggers()
        connect_write_notes()
        setting_changed.connect(_settings_changed, dispatch_uid="growthcompass.cache.settings_changed")
