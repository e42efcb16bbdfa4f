"""The NOTIFY triggers of a table, generated from the ``WrittenBy`` declarations that name it.

One statement-level ``AFTER`` trigger per operation and watched model, with
transition tables, so a bulk write costs one trigger call and one NOTIFY per
family, not one per row. Each names the entries its statement changed with
``gc_cache_notify(family, ids)`` (or the whole family with
``gc_cache_notify_all``), functions created by this app's migration 0001.
PostgreSQL delivers a NOTIFY only when its transaction commits, so a rolled-back
write never invalidates anything, and every write path -- ORM, ``bulk_create``,
``queryset.update()``, raw SQL, ``COPY``, psql -- is seen.

The triggers are registered with django-pgtrigger on the watched model, so
``makemigrations <app>`` renders them into the declaring app's migrations,
where they are frozen like any other schema object.
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.db import models
from psycopg import sql

from growthcompass.cache.registry import WrittenBy, sources
from growthcompass.db.trigger_sql import FastIgnoreTrigger

__all__ = ["CacheTrigger", "register_triggers"]

_OPERATIONS = {
    "INSERT": (pgtrigger.Insert, pgtrigger.Referencing(new="gc_new")),
    "UPDATE": (pgtrigger.Update, pgtrigger.Referencing(old="gc_old", new="gc_new")),
    "DELETE": (pgtrigger.Delete, pgtrigger.Referencing(old="gc_old")),
    "TRUNCATE": (pgtrigger.Truncate, None),
}


def _render(query: sql.Composable) -> str:
    return query.as_string(None)


def _condition(source: WrittenBy, alias: str) -> sql.Composable:
    if not source.condition:
        return sql.SQL("true")
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}").format(sql.Identifier(alias), sql.Identifier(column), sql.Literal(value))
        for column, value in source.condition.items()
    )


def _changed_keys(source: WrittenBy, operation: str) -> sql.Composable:
    """The ``key`` values of the rows this statement changed that count (a query of one column)."""
    key = sql.Identifier(source.key)
    if operation == "INSERT":
        return sql.SQL("SELECT n.{key} FROM gc_new n WHERE {cond}").format(key=key, cond=_condition(source, "n"))
    if operation == "DELETE":
        return sql.SQL("SELECT o.{key} FROM gc_old o WHERE {cond}").format(key=key, cond=_condition(source, "o"))
    if not source.columns:
        return sql.SQL(
            "SELECT n.{key} FROM gc_new n WHERE {new} UNION SELECT o.{key} FROM gc_old o WHERE {old}"
        ).format(key=key, new=_condition(source, "n"), old=_condition(source, "o"))
    pk = sql.Identifier(source.model._meta.pk.column)

    def columns(alias: str) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in source.columns
        )

    return sql.SQL(
        "SELECT v.k FROM gc_new n JOIN gc_old o ON o.{pk} = n.{pk}"
        " CROSS JOIN LATERAL (VALUES (n.{key}), (o.{key})) AS v(k)"
        " WHERE ROW({new_cols}) IS DISTINCT FROM ROW({old_cols}) AND (({new}) OR ({old}))"
    ).format(
        pk=pk,
        key=key,
        new_cols=columns("n"),
        old_cols=columns("o"),
        new=_condition(source, "n"),
        old=_condition(source, "o"),
    )


def _statement(family: str, single_entry_id: int | None, source: WrittenBy, operation: str) -> sql.Composable:
    if operation == "TRUNCATE":
        return sql.SQL("PERFORM gc_cache_notify_all({});").format(sql.Literal(family))
    ids = _changed_keys(source, operation)
    if source.via is not None:
        table, column = source.via
        ids = sql.SQL("SELECT t.id FROM {table} t WHERE t.{column} IN ({ids})").format(
            table=sql.Identifier(table), column=sql.Identifier(column), ids=ids
        )
    if source.whole_family:
        return sql.SQL("IF EXISTS ({ids}) THEN PERFORM gc_cache_notify_all({family}); END IF;").format(
            ids=ids, family=sql.Literal(family)
        )
    if single_entry_id is not None:
        return sql.SQL(
            "IF EXISTS ({ids}) THEN PERFORM gc_cache_notify({family}, ARRAY[{entry}::bigint]); END IF;"
        ).format(ids=ids, family=sql.Literal(family), entry=sql.Literal(single_entry_id))
    return sql.SQL(
        "PERFORM gc_cache_notify({family},"
        " ARRAY(SELECT DISTINCT c.k::bigint FROM ({ids}) AS c(k) WHERE c.k IS NOT NULL ORDER BY 1));"
    ).format(family=sql.Literal(family), ids=ids)


class CacheTrigger(FastIgnoreTrigger):
    """The NOTIFYs one operation on one watched model sends, for every family that watches it.

    Compiled with ``FastIgnoreTriggerSql``: pgtrigger's own ignore check would
    open a subtransaction on every write statement of a watched table.
    """

    when = pgtrigger.After
    level = pgtrigger.Statement

    def __init__(self, *, name: str, operation: str, statements: tuple[str, ...]) -> None:
        pg_operation, referencing = _OPERATIONS[operation]
        self.statements = statements
        super().__init__(name=name, operation=pg_operation, referencing=referencing)

    def get_func(self, model: Any) -> str:
        return self.format_sql("\n".join(self.statements) + "\nRETURN NULL;")


def trigger_name(model: type[models.Model], operation: str) -> str:
    # Proxies of one table in several apps each carry their own triggers.
    owner = f"{model._meta.model_name}_" if model._meta.proxy else ""
    return f"cache_{owner}{operation.lower()}"


# (model label, trigger name) already registered: apps' ready() runs again when INSTALLED_APPS is overridden.
_registered: set[tuple[str, str]] = set()


def register_triggers(app_label: str) -> None:
    """Register the triggers of every model that ``app_label``'s families watch (once the app's ``cache.py`` ran)."""
    by_model: dict[type[models.Model], dict[str, list[str]]] = {}
    for family, single_entry_id, source in sources(app_label=app_label):
        per_operation = by_model.setdefault(source.model, {})
        for operation in _OPERATIONS:
            if operation == "INSERT" and not source.inserts:
                continue
            per_operation.setdefault(operation, []).append(
                _render(_statement(family, single_entry_id, source, operation))
            )
    for model, per_operation in by_model.items():
        for operation, statements in per_operation.items():
            name = trigger_name(model, operation)
            if (model._meta.label, name) in _registered:
                continue
            pgtrigger.register(CacheTrigger(name=name, operation=operation, statements=tuple(statements)))(model)
            _registered.add((model._meta.label, name))
