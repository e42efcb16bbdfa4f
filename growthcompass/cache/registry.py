"""Which cache families exist and which writes invalidate them, as declared by the apps that own the data.

An app declares its families in its own ``cache.py`` (found by
``autodiscover_modules("cache")`` when the cache app is ready, the way the
admin finds ``admin.py``)::

    STUDENT = cache.register(
        Family("student", ttl_s=600, load_many=_load_students, codec=RowCodec(StudentSummary)),
        written_by=[WrittenBy(Student), WrittenBy(StudentAccount, columns=("username", ...), inserts=False)],
        keyed_by="student",
    )

From each ``WrittenBy`` the cache app generates the statement-level NOTIFY
triggers of that table (``growthcompass.cache.triggers``), registered with
django-pgtrigger on the model, so ``makemigrations <app>`` freezes them in the
declaring app's migrations, and the ORM on-commit invalidation
(``growthcompass.cache.invalidation``). A table of another app (``auth_user``)
is watched through a proxy model the declaring app defines, so its triggers
still migrate with the declaring app.

A family's name is a contract with frozen trigger SQL and with the keys in
Redis: add families, never rename one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from growthcompass.cache.families import Family

__all__ = [
    "WrittenBy",
    "app_labels",
    "clear_options",
    "families",
    "family",
    "family_names",
    "register",
    "sources",
]

T = TypeVar("T")


@dataclass(frozen=True)
class WrittenBy:
    """A table whose committed writes invalidate entries of a family.

    * ``key`` -- the column of the written row that names the entry (its id).
    * ``via`` -- ``(table, column)``: the entries are instead the ``id`` of the
      rows of ``table`` whose ``column`` is one of those keys (a renamed term
      invalidates the courses of that term).
    * ``columns`` -- an UPDATE counts only when one of these columns changed
      (a login rewriting ``last_login`` invalidates nothing).
    * ``condition`` -- column values a row must have (before or after the
      write) to count.
    * ``whole_family`` -- a write that counts invalidates every entry.
    * ``inserts`` -- whether an INSERT counts (a new row that no entry can
      name yet need not).
    """

    model: type[models.Model]
    key: str = "id"
    via: tuple[str, str] | None = None
    columns: tuple[str, ...] = ()
    condition: Mapping[str, Any] = field(default_factory=dict)
    whole_family: bool = False
    inserts: bool = True

    @property
    def table(self) -> str:
        return self.model._meta.db_table


@dataclass(frozen=True)
class _Declaration:
    family: Family[Any]
    written_by: tuple[WrittenBy, ...]
    keyed_by: str | None
    single_entry_id: int | None
    app_label: str


_declarations: dict[str, _Declaration] = {}


def register(
    family: Family[T],
    *,
    written_by: Iterable[WrittenBy],
    keyed_by: str | None = None,
    single_entry_id: int | None = None,
    app_label: str | None = None,
) -> Family[T]:
    """Declare ``family`` and the writes that invalidate it; returns the family.

    ``keyed_by`` names the entity whose id keys the entries (``"student"``):
    ``cache_clear --student ID`` clears every family keyed by students.
    ``single_entry_id``: the family holds one entry, under this id, which a
    counted write invalidates (and ``cache_clear --<keyed_by>`` with it).
    ``app_label`` defaults to the app of the first ``written_by`` model.
    """
    sources = tuple(written_by)
    if not sources:
        raise ImproperlyConfigured(f"Cache family {family.name!r} names no table whose writes invalidate it")
    label = app_label or sources[0].model._meta.app_label
    for source in sources:
        if source.model._meta.app_label != label:
            raise ImproperlyConfigured(
                f"Cache family {family.name!r} of app {label!r} watches {source.model._meta.label}: declare a proxy "
                f"of it in {label}.models so its triggers migrate with {label}"
            )
    existing = _declarations.get(family.name)
    if existing is not None and existing.family is not family:
        raise ImproperlyConfigured(f"Cache family {family.name!r} is declared twice")
    _declarations[family.name] = _Declaration(family, sources, keyed_by, single_entry_id, label)
    return family


def unregister(name: str) -> None:
    """Forget a family (tests that declare throwaway families)."""
    _declarations.pop(name, None)


def app_labels() -> list[str]:
    """The apps that declared families (their triggers are generated once every ``cache.py`` is imported)."""
    return sorted({declaration.app_label for declaration in _declarations.values()})


def families() -> tuple[Family[Any], ...]:
    return tuple(declaration.family for declaration in _declarations.values())


def family(name: str) -> Family[Any]:
    return _declarations[name].family


def family_names() -> frozenset[str]:
    return frozenset(_declarations)


def sources(*, app_label: str | None = None) -> list[tuple[str, int | None, WrittenBy]]:
    """``(family name, single entry id, WrittenBy)`` triples, of one app or of all."""
    return [
        (name, declaration.single_entry_id, source)
        for name, declaration in _declarations.items()
        if app_label is None or declaration.app_label == app_label
        for source in declaration.written_by
    ]


def clear_options() -> dict[str, tuple[tuple[str, int | None], ...]]:
    """What each ``cache_clear --<entity> ID`` clears: ``{"course": (("course", None), ("courses_active", 0))}``.

    ``None`` stands for the id given on the command line; a single-entry
    family's own id is cleared whatever the id given.
    """
    options: dict[str, list[tuple[str, int | None]]] = {}
    for name, declaration in _declarations.items():
        if declaration.keyed_by:
            options.setdefault(declaration.keyed_by, []).append((name, declaration.single_entry_id))
    return {entity: tuple(entries) for entity, entries in sorted(options.items())}
