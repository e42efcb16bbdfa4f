"""Staff-only, read-only JSON views over the safe query API.

``GET /api/<table>/?<column>__<op>=<value>&order=<column>&dir=asc|desc&limit=&offset=``
answers ``{"table", "limit", "offset", "total", "returned", "rows"}`` (``total``
matches in all, ``returned`` rows on this page). ``<op>`` is one of
``ENDPOINT_OPERATORS`` (a bare ``<column>=<value>`` means ``eq``); ``in`` and
``not_in`` take comma-separated values (or the parameter repeated);
``is_null``/``is_not_null`` take no value. Repeating any filter ANDs the
conditions. Every error is JSON ``{"error", "part"}``: an invalid query 400
(``part`` names what is wrong; too many parameters is ``query``), an unknown
table 404, an anonymous caller 401 and a non-staff one 403 (``auth``), any
method but GET and HEAD 405 (``method``, CSRF or not: nothing here writes), a
timeout or an unreachable database 503 (``database``). Reads may be served by
the read replica (the router keeps them on the primary when it must).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db.utils import OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from growthcompass.db.exceptions import InvalidQuery, QueryTimeout, UnknownTable
from growthcompass.db.query import OPERATORS, Condition, count, default_limit, find_many
from growthcompass.db.tables import describe, exposed_tables

logger = logging.getLogger("growthcompass.api")

# Query-string operator -> (safe query operator, LIKE wildcards honoured)
ENDPOINT_OPERATORS: dict[str, tuple[str, bool]] = {
    "eq": ("=", False),
    "ne": ("!=", False),
    "lt": ("<", False),
    "lte": ("<=", False),
    "gt": (">", False),
    "gte": (">=", False),
    "in": ("IN", False),
    "not_in": ("NOT IN", False),
    "is_null": ("IS NULL", False),
    "is_not_null": ("IS NOT NULL", False),
    "like": ("LIKE", False),
    "ilike": ("ILIKE", False),
    "like_pattern": ("LIKE", True),
    "ilike_pattern": ("ILIKE", True),
}
RESERVED_PARAMETERS = ("order", "dir", "limit", "offset")
_NO_VALUE = frozenset({"", "1", "true", "yes"})


def _error(status: int, message: str, *, part: str) -> JsonResponse:
    return JsonResponse({"error": message, "part": part}, status=status)


def _refuse_unless_staff(request: HttpRequest) -> JsonResponse | None:
    if not request.user.is_authenticated:
        return _error(401, "authentication required: log in as a staff member", part="auth")
    if not request.user.is_staff:
        return _error(403, "staff status required", part="auth")
    return None


def json_read_only(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """GET and HEAD only, answered in JSON whatever goes wrong before the view's own checks.

    CSRF protection is for views that change state; these change none, so a
    POST is told 405 in JSON instead of the CSRF failure page. A query string
    over ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` raises ``TooManyFieldsSent`` when
    ``request.GET`` is first read: it is read here, and refused as JSON.
    """

    @csrf_exempt
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if request.method not in ("GET", "HEAD"):
            response = _error(405, f"method {request.method} not allowed: the API is read-only", part="method")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            request.GET.lists()
        except SuspiciousOperation as exc:
            return _error(400, f"query string refused: {exc}", part="query")
        return view(request, *args, **kwargs)

    return wrapper


def _single(request: HttpRequest, name: str) -> str | None:
    values = request.GET.getlist(name)
    if len(values) > 1:
        raise InvalidQuery(f"parameter {name!r} given more than once", part=_part_of(name))
    return values[0] if values else None


def _part_of(parameter: str) -> str:
    return {"order": "order_by", "dir": "order_direction"}.get(parameter, parameter)


def conditions_from_query(request: HttpRequest) -> list[Condition]:
    """The filter parameters of the query string as conditions; ``InvalidQuery`` for an unknown operator."""
    conditions = []
    for parameter, values in request.GET.lists():
        if parameter in RESERVED_PARAMETERS:
            continue
        column, separator, suffix = parameter.rpartition("__")
        if not separator:
            column, suffix = parameter, "eq"
        if suffix not in ENDPOINT_OPERATORS:
            raise InvalidQuery(
                f"unknown operator {describe(suffix)} in parameter {describe(parameter)}; "
                f"operators: {', '.join(ENDPOINT_OPERATORS)}",
                part="operator",
            )
        operator, wildcards = ENDPOINT_OPERATORS[suffix]
        if operator in ("IN", "NOT IN"):
            items = [item for value in values for item in value.split(",")]
            conditions.append(Condition(column, operator, items))
        elif operator in ("IS NULL", "IS NOT NULL"):
            if any(value.strip().lower() not in _NO_VALUE for value in values):
                raise InvalidQuery(f"{suffix} takes no value (parameter {describe(parameter)})", part="value")
            conditions.append(Condition(column, operator))
        else:
            conditions.extend(Condition(column, operator, value, wildcards) for value in values)
    return conditions


@json_read_only
def table_rows(request: HttpRequest, table: str) -> JsonResponse:
    refusal = _refuse_unless_staff(request)
    if refusal is not None:
        return refusal
    try:
        limit = _single(request, "limit")
        offset = _single(request, "offset")
        order_by = _single(request, "order")
        direction = _single(request, "dir")
        rows = find_many(
            table,
            conditions_from_query(request),
            order_by=order_by,
            order_direction=direction if direction is not None else "ASC",
            limit=limit,
            offset=offset if offset is not None else 0,
            use_replica=True,
        )
        total = count(table, conditions_from_query(request), use_replica=True)
    except UnknownTable as exc:
        return _error(404, exc.message, part="table")
    except InvalidQuery as exc:
        return _error(400, exc.message, part=exc.part)
    except QueryTimeout as exc:
        return _error(503, str(exc), part="database")
    except OperationalError:
        logger.exception("safe query API: database unavailable for /api/%s/", table)
        return _error(503, "the database is unavailable; try again shortly", part="database")
    return JsonResponse(
        {
            "table": table,
            "limit": int(limit) if limit is not None else default_limit(),
            "offset": int(offset) if offset is not None else 0,
            "total": total,
            "returned": len(rows),
            "rows": rows,
        }
    )


@json_read_only
def table_index(request: HttpRequest) -> JsonResponse:
    """The exposed tables, their readable columns and which of them filter and sort."""
    refusal = _refuse_unless_staff(request)
    if refusal is not None:
        return refusal
    tables = {
        name: {
            "columns": list(table.columns),
            "filterable": [column.name for column in table.columns.values() if column.filterable],
        }
        for name, table in exposed_tables().items()
    }
    return JsonResponse(
        {"tables": tables, "operators": list(ENDPOINT_OPERATORS), "safe_query_operators": list(OPERATORS)}
    )
