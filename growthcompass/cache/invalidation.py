"""Invalidation from ORM writes, on commit, for immediacy.

The triggers see every write path, but their NOTIFY reaches the listener a
few milliseconds after the commit. ORM ``save()`` and ``delete()`` (and the
per-object deletes of ``queryset.delete()``) also invalidate in a
``transaction.on_commit`` callback, which runs before the committing call
returns: the writer's next read, in any process, already misses. A rolled-back
transaction discards its callbacks, so it invalidates nothing.

The receivers are generated from the same ``WrittenBy`` declarations as the
triggers (``growthcompass.cache.registry``). They may invalidate more than the
triggers would (an ORM save does not say which columns changed unless
``update_fields`` does), never less than the new row names; the old values of
a moved row (an enrolment moved to another course) are left to the triggers.

Writes that send no signals (``bulk_create``, ``bulk_update``,
``queryset.update()``, raw SQL, psql) rely on the listener alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from psycopg import sql

from growthcompass.cache.messages import EVERYTHING, Invalidation, merge_into
from growthcompass.cache.registry import WrittenBy, sources
from growthcompass.cache.runtime import get_store
from growthcompass.cache.transactions import note_uncommitted_write

__all__ = ["EVERYTHING", "connect_signals", "invalidate", "invalidate_on_commit"]


def invalidate(invalidation: Mapping[str, frozenset[int] | None]) -> bool:
    """Invalidate now, e.g. ``invalidate({"student": frozenset({42})})``; False if Redis was unreachable."""
    return get_store().invalidate(invalidation)


def invalidate_on_commit(invalidation: Invalidation, *, using: str | None = None) -> None:
    """Invalidate when the current transaction commits (now, outside a transaction)."""
    alias = using or DEFAULT_DB_ALIAS
    if not invalidation:
        return
    if connections[alias].in_atomic_block:
        note_uncommitted_write(invalidation, using=alias)
    transaction.on_commit(functools.partial(invalidate, invalidation), using=alias, robust=True)


def _attname(model: type[Model], column: str) -> str:
    """The attribute of ``model`` that holds database column ``column`` (declarations name columns)."""
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field.attname
    raise LookupError(f"{model._meta.label} has no column {column!r}")


def _counts(source: WrittenBy, instance: Model, created: bool, update_fields: frozenset[str] | None) -> bool:
    if created and not source.inserts:
        return False
    if update_fields is not None and source.columns:
        attnames = {_attname(type(instance), column) for column in source.columns}
        if not attnames & set(update_fields):
            return False  # e.g. a login's last_login
    if source.whole_family and source.condition:
        # A whole family is costly to lose: check the saved row. Elsewhere the
        # condition may have held before the save, which is not known here.
        return all(getattr(instance, _attname(type(instance), c)) == v for c, v in source.condition.items())
    return True


def _entry_ids(source: WrittenBy, instance: Model, using: str) -> frozenset[int]:
    key = getattr(instance, _attname(type(instance), source.key))
    if key is None:
        return frozenset()
    if source.via is None:
        return frozenset({int(key)})
    table, column = source.via
    query = sql.SQL("SELECT id FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(column))
    with connections[using].cursor() as cursor:
        cursor.execute(query.as_string(None), [key])
        return frozenset(int(row[0]) for row in cursor.fetchall())


def _receiver(declared: list[tuple[str, int | None, WrittenBy]]) -> Any:
    def changed(
        sender: type[Model],
        instance: Model,
        using: str,
        created: bool = False,
        update_fields: frozenset[str] | None = None,
        **kwargs: Any,
    ) -> None:
        invalidation: Invalidation = {}
        for family, single_entry_id, source in declared:
            if not _counts(source, instance, created, update_fields):
                continue
            if source.whole_family:
                merge_into(invalidation, {family: None})
            elif single_entry_id is not None:
                merge_into(invalidation, {family: frozenset({single_entry_id})})
            elif not (created and source.via is not None):  # no row can name a row just created
                ids = _entry_ids(source, instance, using)
                if ids:
                    merge_into(invalidation, {family: ids})
        invalidate_on_commit(invalidation, using=using)

    return changed


_connected: list[Any] = []


def connect_signals() -> None:
    """Connect one receiver per watched model (its concrete class: proxies send no signals of their own)."""
    by_model: dict[type[Model], list[tuple[str, int | None, WrittenBy]]] = {}
    for family, single_entry_id, source in sources():
        concrete = source.model._meta.concrete_model or source.model
        by_model.setdefault(concrete, []).append((family, single_entry_id, source))
    for model, declared in by_model.items():
        receiver = _receiver(declared)
        _connected.append(receiver)  # signals hold weak references
        uid = f"growthcompass.cache.invalidation.{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}.delete")
