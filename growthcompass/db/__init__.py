"""Shared PostgreSQL infrastructure: connection settings, routing, retries, safe queries.

The safe query API is importable from here (``from growthcompass.db import
find_many, InvalidQuery``). The names are loaded on first use: settings import
``growthcompass.db.config`` before Django's apps are ready, and the query
module needs the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from growthcompass.db.exceptions import InvalidQuery, QueryTimeout, UnknownTable
    from growthcompass.db.query import OPERATORS, Condition, build_queryset, count, find_many, find_one
    from growthcompass.db.retry import retry_read, retrying_read, wait_for_database
    from growthcompass.db.router import use_primary, use_replica

_EXPORTS = {
    "InvalidQuery": "growthcompass.db.exceptions",
    "QueryTimeout": "growthcompass.db.exceptions",
    "UnknownTable": "growthcompass.db.exceptions",
    "OPERATORS": "growthcompass.db.query",
    "Condition": "growthcompass.db.query",
    "build_queryset": "growthcompass.db.query",
    "count": "growthcompass.db.query",
    "find_many": "growthcompass.db.query",
    "find_one": "growthcompass.db.query",
    "retry_read": "growthcompass.db.retry",
    "retrying_read": "growthcompass.db.retry",
    "wait_for_database": "growthcompass.db.retry",
    "use_primary": "growthcompass.db.router",
    "use_replica": "growthcompass.db.router",
}

__all__ = [
    "OPERATORS",
    "Condition",
    "InvalidQuery",
    "QueryTimeout",
    "UnknownTable",
    "build_queryset",
    "count",
    "find_many",
    "find_one",
    "retry_read",
    "retrying_read",
    "use_primary",
    "use_replica",
    "wait_for_database",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
