"""The tables and columns the safe query API exposes, and nothing else.

Each app registers the tables it owns from its own ``query_api.py`` (found by
``discover_tables()``, as the admin finds ``admin.py``) with ``register_table``:
a table name, a model and an explicit list of readable columns (database
column names, as in the original schema). A column that is not listed does not
exist as far as the API is concerned, so a new model field -- a password hash,
a token -- never becomes readable by accident. ``auth_user`` is deliberately
never registered: it holds password hashes, and the people it names are
reachable through ``students.id``.

Columns holding ``jsonb`` or arrays are readable but cannot be filtered or
sorted on: the operator set is scalar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from growthcompass.db.exceptions import InvalidQuery, UnknownTable

# table name -> (model label, readable columns), as registered by the apps' query_api.py.
_DECLARED: dict[str, tuple[str, tuple[str, ...]]] = {}

__all__ = [
    "Column",
    "Table",
    "describe",
    "discover_tables",
    "exposed_tables",
    "get_table",
    "register_table",
    "unregister_table",
]

_UNFILTERABLE_FIELDS: tuple[type[models.Field[Any, Any]], ...] = (models.JSONField, ArrayField, models.BinaryField)
_TEXT_FIELDS: tuple[type[models.Field[Any, Any]], ...] = (models.CharField, models.TextField)


@dataclass(frozen=True)
class Column:
    """One readable column: its public (database) name and the model field behind it."""

    name: str
    field: models.Field[Any, Any]

    @property
    def attname(self) -> str:
        """The name the ORM filters and selects by (``student_id`` for a foreign key)."""
        return self.field.attname

    @property
    def filterable(self) -> bool:
        """Scalar columns only: ``jsonb`` and array columns are read, never compared or sorted."""
        return not isinstance(self.field, _UNFILTERABLE_FIELDS)

    @property
    def is_text(self) -> bool:
        return isinstance(self.field, _TEXT_FIELDS)

    @property
    def value_field(self) -> models.Field[Any, Any]:
        """The field whose type a value must have: a foreign key compares as its target's key."""
        field = self.field
        while field.is_relation:
            target = getattr(field, "target_field", None)
            if target is None:
                break
            field = target
        return field


@dataclass(frozen=True)
class Table:
    """A table the API exposes: its model and its readable columns, in declared order."""

    name: str
    model: type[models.Model]
    columns: MappingProxyType[str, Column]

    def column(self, name: object, *, part: str = "column") -> Column:
        if isinstance(name, str) and name in self.columns:
            return self.columns[name]
        raise InvalidQuery(
            f"unknown column {describe(name)} for table {self.name!r}; readable columns: {', '.join(self.columns)}",
            part=part,
        )

    def filterable_column(self, name: object, *, part: str = "column") -> Column:
        column = self.column(name, part=part)
        if not column.filterable:
            raise InvalidQuery(
                f"column {column.name!r} of table {self.name!r} holds structured data and cannot be "
                f"filtered or sorted on",
                part=part,
            )
        return column


def describe(value: object, limit: int = 60) -> str:
    """``repr`` of user input, shortened so an error message stays readable."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _build(name: str, label: str, column_names: tuple[str, ...]) -> Table:
    model = apps.get_model(label)
    by_column = {field.column: field for field in model._meta.concrete_fields}
    columns: dict[str, Column] = {}
    for column_name in column_names:
        field = by_column.get(column_name)
        if field is None:
            raise ImproperlyConfigured(
                f"safe query table {name!r} lists column {column_name!r}, which {label} does not have"
            )
        columns[column_name] = Column(name=column_name, field=field)
    return Table(name=name, model=model, columns=MappingProxyType(columns))


@cache
def _tables() -> MappingProxyType[str, Table]:
    return MappingProxyType({name: _build(name, label, cols) for name, (label, cols) in _DECLARED.items()})


def register_table(name: str, model: type[models.Model] | str, columns: tuple[str, ...]) -> None:
    """Expose a table (from an app's ``query_api.py``); ``columns`` must be an explicit list."""
    if not columns:
        raise ImproperlyConfigured(f"safe query table {name!r} needs an explicit list of readable columns")
    label = model if isinstance(model, str) else model._meta.label
    _DECLARED[name] = (label, tuple(columns))
    _tables.cache_clear()


def unregister_table(name: str) -> None:
    """Stop exposing a table (tests that register throwaway ones)."""
    _DECLARED.pop(name, None)
    _tables.cache_clear()


def discover_tables() -> None:
    """Import every installed app's ``query_api`` module, which registers that app's tables."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("query_api")


def exposed_tables() -> MappingProxyType[str, Table]:
    """Every exposed table, by name."""
    return _tables()


def get_table(name: object) -> Table:
    """The exposed table called ``name``; ``UnknownTable`` for anything else."""
    tables = _tables()
    if isinstance(name, str) and name in tables:
        return tables[name]
    raise UnknownTable(f"unknown table {describe(name)}; tables: {', '.join(tables)}")
