"""Which models and tables are audited, from the trigger-carrying proxies in ``auditing.models``."""

from __future__ import annotations

from functools import cache

from django.db import models


@cache
def audited_models() -> tuple[type[models.Model], ...]:
    """The concrete models whose tables carry the audit triggers."""
    from auditing.models import AUDIT_PROXIES

    return tuple(proxy._meta.concrete_model or proxy for proxy in AUDIT_PROXIES)


@cache
def audited_tables() -> frozenset[str]:
    return frozenset(model._meta.db_table for model in audited_models())


def is_audited(model: type[models.Model]) -> bool:
    concrete = model._meta.concrete_model or model
    return concrete._meta.db_table in audited_tables()
