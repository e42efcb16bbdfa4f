"""The statement-level trigger on every table of the project that announces its committed writes.

One ``AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ... FOR EACH STATEMENT``
trigger per table sends ``pg_notify('gc_cache', '~t:<table>')``. PostgreSQL
delivers it only when the transaction commits (and folds identical payloads
of one transaction into one), so every write path -- ORM, ``update()``,
``bulk_*``, raw SQL, ``COPY``, ``TRUNCATE``, psql, another service, and the
rows an ``ON DELETE CASCADE`` removes (their table's own trigger fires) -- moves
the table's generation once the listener applies it
(``growthcompass.cache.generations``).

Which tables: every concrete, managed model of the project's own apps (the
apps whose code lives under ``settings.BASE_DIR``, not an installed
package), found in the model registry -- no list here. A table of a package
(``auth_user``) is covered when a project app declares a proxy of its model:
the first such proxy in ``INSTALLED_APPS`` order carries the trigger, so it
migrates with that app. The trigger is registered with django-pgtrigger on
the model in ``CacheConfig.ready()``, so ``makemigrations <app>`` freezes it
in the app's migrations like any other schema object.

Unmanaged tables (the partitioned ``audit_log``, materialized views) carry no
trigger: a query that reads one is refused unless the app declares how its
changes are announced (``growthcompass.cache.dependencies.derived_table``).
"""

from __future__ import annotations

from pathlib import Path

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.db import models

from growthcompass.db.trigger_sql import FastIgnoreTrigger

__all__ = ["PAYLOAD_PREFIX", "TRIGGER_NAME", "TableTrigger", "project_models", "register_table_triggers"]

TRIGGER_NAME = "queryset_tables"
# The reserved prefix of table payloads on the invalidation channel: no family name starts with "~".
PAYLOAD_PREFIX = "~t:"


class TableTrigger(FastIgnoreTrigger):
    """Announce, once per statement, that this table changed.

    Compiled with ``FastIgnoreTriggerSql`` like the audit triggers: pgtrigger's
    own ignore check is a PL/pgSQL call with an exception block, a
    subtransaction on every write statement of every table (about 80 us of a
    single-row ``UPDATE``'s 0.6 ms, measured with ``auto_explain``'s trigger
    times); the cheap check calls it only when ``pgtrigger.ignore`` names the
    trigger (partition moves do).
    """

    when = pgtrigger.After
    level = pgtrigger.Statement
    operation = pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete | pgtrigger.Truncate

    def __init__(self) -> None:
        super().__init__(name=TRIGGER_NAME)

    def get_func(self, model: models.Model) -> str:
        return self.format_sql(f"PERFORM pg_notify('gc_cache', '{PAYLOAD_PREFIX}' || TG_TABLE_NAME);\nRETURN NULL;")


def _is_project_app(path: str) -> bool:
    app_path = Path(path).resolve()
    base = Path(settings.BASE_DIR).resolve()
    return app_path.is_relative_to(base) and "site-packages" not in app_path.parts


def project_models() -> list[type[models.Model]]:
    """The model of each project table that carries the trigger (one per table)."""
    chosen: dict[str, type[models.Model]] = {}
    proxies: dict[str, type[models.Model]] = {}
    owned: set[str] = set()
    for config in apps.get_app_configs():
        if not _is_project_app(config.path):
            continue
        for model in config.get_models():
            meta = model._meta
            if not meta.managed:
                continue
            if meta.proxy:
                proxies.setdefault(meta.db_table, model)
            else:
                chosen.setdefault(meta.db_table, model)
                owned.add(meta.db_table)
    for table, proxy in proxies.items():
        concrete = proxy._meta.concrete_model
        if table not in owned and concrete is not None and not _is_project_app(concrete._meta.app_config.path):
            chosen[table] = proxy
    return [chosen[table] for table in sorted(chosen)]


_registered: set[str] = set()


def register_table_triggers() -> None:
    """Register the trigger on every project table (once; ``ready()`` runs again when apps are overridden)."""
    for model in project_models():
        if model._meta.label in _registered:
            continue
        pgtrigger.register(TableTrigger())(model)
        _registered.add(model._meta.label)
