"""The safe query API: filter, sort and page whitelisted tables by user-chosen fields.

``find_many``, ``find_one`` and ``count`` take user input -- table and column
names, operators, values, ordering, paging -- and either answer with plain
rows or raise ``InvalidQuery`` naming the offending part. Input is checked
against fixed lists (``growthcompass.db.tables`` for tables and columns,
``OPERATORS`` for operators) and values are converted through the model field
before anything reaches the ORM, so bad input never becomes SQL and never
surfaces as a database error. Queries are built with the ORM: values travel as
parameters and identifiers come from the model, never from the caller's text.

Operators follow SQL: ``!=`` and ``NOT IN`` never match a NULL (ask for
``IS NULL`` explicitly). ``LIKE``/``ILIKE`` match the value as a literal
substring -- the caller's ``%``, ``_`` and ``\\`` are escaped -- unless the
condition sets ``wildcards=True``, in which case the value is a whole LIKE
pattern (``%`` any run, ``_`` one character, ``\\`` escapes the next one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import F, Q, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Regex
from django.utils import timezone

from growthcompass.db.exceptions import InvalidQuery
from growthcompass.db.retry import retry_read
from growthcompass.db.router import use_replica as prefer_replica
from growthcompass.db.tables import Column, Table, describe, get_table

T = TypeVar("T")

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "IS NULL", "IS NOT NULL", "LIKE", "ILIKE")
_COMPARISONS = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_LIST_OPERATORS = frozenset({"IN", "NOT IN"})
_NULL_OPERATORS = frozenset({"IS NULL", "IS NOT NULL"})
_PATTERN_OPERATORS = frozenset({"LIKE", "ILIKE"})
DIRECTIONS = ("ASC", "DESC")

MAX_CONDITIONS = 20
MAX_LIST_VALUES = 1000
MAX_TEXT_VALUE_LENGTH = 1000

_TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off"})
_INTEGER_TYPES = frozenset(
    {
        "SmallIntegerField",
        "IntegerField",
        "BigIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "PositiveIntegerField",
        "SmallAutoField",
        "AutoField",
        "BigAutoField",
    }
)


@dataclass(frozen=True)
class Condition:
    """``column operator value``; ``wildcards`` makes a LIKE/ILIKE value a pattern rather than a substring."""

    column: str
    operator: str = "="
    value: Any = None
    wildcards: bool = False


def default_limit() -> int:
    return settings.SAFE_QUERY_DEFAULT_LIMIT


def max_limit() -> int:
    return settings.SAFE_QUERY_MAX_LIMIT


def max_offset() -> int:
    return settings.SAFE_QUERY_MAX_OFFSET


# --- input checking ---------------------------------------------------------------


def _normalise_operator(raw: object) -> str:
    if isinstance(raw, str) and raw.isascii():
        operator = " ".join(raw.split()).upper()
        if operator in OPERATORS:
            return operator
    raise InvalidQuery(f"unknown operator {describe(raw)}; operators: {', '.join(OPERATORS)}", part="operator")


def _check_text(raw: str, column: Column) -> str:
    if len(raw) > MAX_TEXT_VALUE_LENGTH:
        raise InvalidQuery(
            f"value for column {column.name!r} is longer than {MAX_TEXT_VALUE_LENGTH} characters", part="value"
        )
    if "\x00" in raw:
        raise InvalidQuery(f"value for column {column.name!r} contains a NUL character", part="value")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery(
            f"value {describe(raw)} for column {column.name!r} is not valid text (unpaired surrogate)", part="value"
        ) from None
    return raw


def _invalid_value(raw: object, column: Column, reason: str) -> InvalidQuery:
    return InvalidQuery(f"value {describe(raw)} for column {column.name!r} is not valid: {reason}", part="value")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(message) for message in exc.messages)
    return str(exc) or type(exc).__name__


def convert_value(column: Column, raw: object) -> Any:
    """``raw`` as the Python value of ``column``'s type, or ``InvalidQuery`` saying why not."""
    field = column.value_field
    if raw is None:
        raise InvalidQuery(
            f"a NULL value cannot be compared with column {column.name!r}; use IS NULL or IS NOT NULL", part="value"
        )
    if isinstance(raw, bytes | bytearray | memoryview | Mapping | list | tuple | set | frozenset):
        raise _invalid_value(raw, column, "expected a single value")
    if isinstance(raw, str):
        _check_text(raw, column)
    internal_type = field.get_internal_type()
    if isinstance(field, models.BooleanField):
        return _convert_boolean(raw, column)
    if isinstance(raw, bool):
        raise _invalid_value(raw, column, f"a boolean is not a {internal_type} value")
    if internal_type in _INTEGER_TYPES and isinstance(raw, float) and not raw.is_integer():
        raise _invalid_value(raw, column, "expected an integer")
    if isinstance(raw, str) and internal_type in _INTEGER_TYPES:
        raw = raw.strip()
    try:
        value = field.to_python(raw)
    except (ValidationError, TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        raise _invalid_value(raw, column, _reason(exc)) from None
    if internal_type in _INTEGER_TYPES:
        low, high = connections[DEFAULT_DB_ALIAS].ops.integer_field_range(internal_type)
        if not isinstance(value, int) or not low <= value <= high:
            raise _invalid_value(raw, column, f"out of range for the column ({low} to {high})")
    elif isinstance(field, models.DecimalField):
        try:
            DecimalValidator(field.max_digits, field.decimal_places)(value)
        except ValidationError as exc:
            raise _invalid_value(raw, column, _reason(exc)) from None
    elif isinstance(field, models.DateTimeField):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
    elif isinstance(field, models.TimeField):
        if value.tzinfo is not None:
            raise _invalid_value(raw, column, "a time of day cannot carry a time zone")
    elif isinstance(value, str):
        _check_text(value, column)
    return value


def _convert_boolean(raw: object, column: Column) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise _invalid_value(raw, column, "expected a boolean (true/false, 1/0, yes/no)")


def like_pattern_to_regex(pattern: str) -> str:
    """A PostgreSQL regular expression matching exactly what ``LIKE pattern`` matches.

    The ORM has no plain LIKE lookup; translating to an anchored regular
    expression keeps the query fully ORM-built. Every character except ASCII
    letters and digits (and non-ASCII characters, which are never special) is
    escaped, so the result can contain no regex syntax the caller chose.
    """
    parts = ["^"]
    characters = iter(pattern)
    previous_was_any = False
    for character in characters:
        if character == "\\":
            escaped = next(characters, None)
            if escaped is None:
                raise InvalidQuery("a LIKE pattern must not end with an escape character '\\'", part="value")
            parts.append(_regex_literal(escaped))
            previous_was_any = False
        elif character == "%":
            if not previous_was_any:  # "%%" matches what "%" matches; keep the regex simple
                parts.append(".*")
            previous_was_any = True
        elif character == "_":
            parts.append(".")
            previous_was_any = False
        else:
            parts.append(_regex_literal(character))
            previous_was_any = False
    parts.append("$")
    return "".join(parts)


def _regex_literal(character: str) -> str:
    if (character.isascii() and character.isalnum()) or not character.isascii():
        return character
    return "\\" + character


def _condition_q(table: Table, index: int, condition: Condition) -> Q:
    column = table.filterable_column(condition.column)
    operator = _normalise_operator(condition.operator)
    name = column.attname
    not_null = Q(**{f"{name}__isnull": False})
    if operator in _NULL_OPERATORS:
        if condition.value is not None:
            raise InvalidQuery(
                f"operator {operator} takes no value (condition #{index} on {column.name!r})", part="value"
            )
        return Q(**{f"{name}__isnull": operator == "IS NULL"})
    if operator in _LIST_OPERATORS:
        values = condition.value
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise InvalidQuery(
                f"operator {operator} needs a list of values (condition #{index} on {column.name!r})", part="value"
            )
        items = list(values)
        if len(items) > MAX_LIST_VALUES:
            raise InvalidQuery(f"operator {operator} takes at most {MAX_LIST_VALUES} values", part="value")
        converted = [convert_value(column, item) for item in items]
        if operator == "IN":
            return Q(**{f"{name}__in": converted})
        return not_null & ~Q(**{f"{name}__in": converted})
    if operator in _PATTERN_OPERATORS:
        if not column.is_text:
            raise InvalidQuery(
                f"operator {operator} applies to text columns only; {column.name!r} is not text", part="operator"
            )
        if not isinstance(condition.value, str):
            raise _invalid_value(condition.value, column, f"{operator} needs a text value")
        text = _check_text(condition.value, column)
        if not isinstance(condition.wildcards, bool):
            raise InvalidQuery(
                f"wildcards must be true or false; got {describe(condition.wildcards)}", part="condition"
            )
        if not condition.wildcards:
            lookup = "contains" if operator == "LIKE" else "icontains"
            return Q(**{f"{name}__{lookup}": text})
        regex = like_pattern_to_regex(text)
        if operator == "LIKE":
            return Q(Regex(F(name), Value(regex)))
        # ILIKE compares lower-cased text with a lower-cased pattern; so does this.
        return Q(Regex(Lower(name), Lower(Value(regex))))
    value = convert_value(column, condition.value)
    if operator == "!=":
        return not_null & ~Q(**{name: value})
    return Q(**{f"{name}__{_COMPARISONS[operator]}": value})


def _as_condition(index: int, raw: object) -> Condition:
    if isinstance(raw, Condition):
        return raw
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"column", "operator", "value", "wildcards"}
        if unknown or "column" not in raw:
            raise InvalidQuery(
                f"condition #{index} must have 'column' and may have 'operator', 'value', 'wildcards'; "
                f"got keys {describe(sorted(map(str, raw)))}",
                part="condition",
            )
        return Condition(
            column=raw["column"],
            operator=raw.get("operator", "="),
            value=raw.get("value"),
            wildcards=raw.get("wildcards", False),
        )
    if isinstance(raw, tuple | list) and len(raw) in (2, 3):
        return Condition(raw[0], raw[1], raw[2] if len(raw) == 3 else None)
    raise InvalidQuery(
        f"condition #{index} must be a Condition, a mapping or a (column, operator[, value]) tuple; "
        f"got {describe(raw)}",
        part="condition",
    )


def _as_conditions(conditions: object) -> list[Condition]:
    if conditions is None:
        return []
    if isinstance(conditions, Mapping):
        # A mapping is a set of equality filters; None means IS NULL.
        return [
            Condition(column, "IS NULL") if value is None else Condition(column, "=", value)
            for column, value in conditions.items()
        ]
    if isinstance(conditions, str | bytes) or not isinstance(conditions, Sequence):
        raise InvalidQuery(
            f"conditions must be a list of conditions or a mapping of column to value; got {describe(conditions)}",
            part="condition",
        )
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidQuery(f"at most {MAX_CONDITIONS} conditions are allowed; got {len(conditions)}", part="condition")
    return [_as_condition(index, raw) for index, raw in enumerate(conditions, start=1)]


def _bounded_int(raw: object, *, part: str, minimum: int, maximum: int) -> int:
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 12:
        value = int(raw.strip())
    if value is None or not minimum <= value <= maximum:
        raise InvalidQuery(f"{part} must be an integer from {minimum} to {maximum}; got {describe(raw)}", part=part)
    return value


def _ordering(table: Table, order_by: object, order_direction: object) -> list[Any]:
    if not (isinstance(order_direction, str) and order_direction.strip().upper() in DIRECTIONS):
        raise InvalidQuery(
            f"order direction must be ASC or DESC; got {describe(order_direction)}", part="order_direction"
        )
    descending = order_direction.strip().upper() == "DESC"
    pk_name = table.model._meta.pk.attname if table.model._meta.pk else "pk"
    names = [pk_name]
    if order_by is not None:
        column = table.filterable_column(order_by, part="order_by") if isinstance(order_by, str) else None
        if column is None:
            raise InvalidQuery(f"order_by must be a column name; got {describe(order_by)}", part="order_by")
        if column.attname != pk_name:
            # The primary key breaks ties, so pages never overlap or skip rows.
            names.insert(0, column.attname)
    return [F(name).desc() if descending else F(name).asc() for name in names]


def _check_use_replica(use_replica: object) -> bool:
    if not isinstance(use_replica, bool):
        raise InvalidQuery(f"use_replica must be True or False; got {describe(use_replica)}", part="condition")
    return use_replica


# --- public API -------------------------------------------------------------------------


def build_queryset(table: str, conditions: object = ()) -> models.QuerySet[Any]:
    """The checked, filtered (unevaluated, unordered) QuerySet of ``table``'s model, for views that compose further."""
    spec = get_table(table)
    query = Q()
    for index, condition in enumerate(_as_conditions(conditions), start=1):
        query &= _condition_q(spec, index, condition)
    return spec.model._base_manager.filter(query)


def find_many(
    table: str,
    conditions: object = (),
    *,
    order_by: str | None = None,
    order_direction: str = "ASC",
    limit: int | str | None = None,
    offset: int | str = 0,
    use_replica: bool = False,
) -> list[dict[str, Any]]:
    """Rows of ``table`` matching every condition, as dicts of the readable columns.

    ``conditions`` is a list of ``Condition``s, ``{"column", "operator", "value"}``
    mappings or ``(column, operator[, value])`` tuples, or a mapping of column
    to value for plain equality. Rows are sorted by ``order_by`` (then the
    primary key; the primary key alone by default) in ``order_direction``.
    ``limit`` defaults to ``SAFE_QUERY_DEFAULT_LIMIT`` and may not exceed
    ``SAFE_QUERY_MAX_LIMIT``. ``use_replica=True`` lets the router serve the
    read from the replica. Raises ``InvalidQuery`` for anything it refuses.
    """
    spec = get_table(table)
    queryset = build_queryset(table, conditions)
    ordering = _ordering(spec, order_by, order_direction)
    size = default_limit() if limit is None else _bounded_int(limit, part="limit", minimum=1, maximum=max_limit())
    start = _bounded_int(offset, part="offset", minimum=0, maximum=max_offset())
    names = list(spec.columns)
    attnames = [column.attname for column in spec.columns.values()]
    page = queryset.order_by(*ordering).values_list(*attnames)[start : start + size]
    return _read(use_replica, lambda: [dict(zip(names, row, strict=True)) for row in page])


def find_one(table: str, filters: object, *, use_replica: bool = False) -> dict[str, Any] | None:
    """The first row (by primary key) of ``table`` matching ``filters``, or None.

    ``filters`` is a mapping of column to value (None means IS NULL) or a list
    of conditions, as for ``find_many``.
    """
    rows = find_many(table, filters, limit=1, use_replica=use_replica)
    return rows[0] if rows else None


def count(table: str, conditions: object = (), *, use_replica: bool = False) -> int:
    """How many rows of ``table`` match every condition."""
    queryset = build_queryset(table, conditions)
    return _read(use_replica, queryset.count)


def _read(use_replica: object, func: Callable[[], T]) -> T:
    with prefer_replica(_check_use_replica(use_replica)):
        return retry_read(func)


def columns_of(table: str) -> list[str]:
    """The readable columns of ``table``, in order."""
    return list(get_table(table).columns)


__all__ = [
    "DIRECTIONS",
    "OPERATORS",
    "Condition",
    "build_queryset",
    "columns_of",
    "convert_value",
    "count",
    "find_many",
    "find_one",
    "like_pattern_to_regex",
]
