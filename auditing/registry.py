"""Which models and tables are audited: the ``AUDITED_MODELS`` each app declares in its ``audit.py``.

``discover_audited_models()`` (from ``AuditingConfig.ready()``) imports every
installed app's ``audit`` module and registers the audit triggers on each
model it lists, with django-pgtrigger, so ``makemigrations <app>`` renders the
triggers into that app's migrations. This app itself adds ``auth_user``
through its ``AuditedUser`` proxy.
"""

from __future__ import annotations

from importlib import import_module

import pgtrigger
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import module_has_submodule

from auditing.triggers import audit_triggers

__all__ = ["audited_models", "audited_tables", "discover_audited_models", "is_audited", "trigger_models"]

_declared: list[type[models.Model]] = []


def discover_audited_models() -> None:
    """Register the audit triggers on every model an app's ``audit.AUDITED_MODELS`` lists (once)."""
    for app_config in apps.get_app_configs():
        if not module_has_submodule(app_config.module, "audit"):
            continue
        module = import_module(f"{app_config.name}.audit")
        declared = getattr(module, "AUDITED_MODELS", None)
        if declared is None:
            raise ImproperlyConfigured(f"{app_config.name}.audit must define AUDITED_MODELS")
        for model in declared:
            if model._meta.app_label != app_config.label:
                raise ImproperlyConfigured(
                    f"{app_config.name}.audit lists {model._meta.label}: an app audits its own models only"
                )
            if model not in _declared:
                pgtrigger.register(*audit_triggers())(model)
                _declared.append(model)


def trigger_models() -> tuple[type[models.Model], ...]:
    """The models whose ``Meta.triggers`` include the audit triggers (proxies included)."""
    from auditing.models import AuditedUser

    return (AuditedUser, *_declared)


def audited_models() -> tuple[type[models.Model], ...]:
    """The concrete models whose tables carry the audit triggers."""
    return tuple(model._meta.concrete_model or model for model in trigger_models())


def audited_tables() -> frozenset[str]:
    return frozenset(model._meta.db_table for model in audited_models())


def is_audited(model: type[models.Model]) -> bool:
    concrete = model._meta.concrete_model or model
    return concrete._meta.db_table in audited_tables()
