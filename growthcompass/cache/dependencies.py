"""Which tables a query reads or a statement writes, and which of them announce their writes.

A cached queryset depends on every table its statements read: the main
query with its joins and subqueries, ``select_related``, and each query of
``prefetch_related``. They are found by recording every statement the
queryset runs while it is evaluated (``StatementRecorder``) and matching its
quoted identifiers -- Django quotes every table it names -- against the
relations of the database (``Catalog``). A column or alias that happens to
share a table's name only adds a dependency, which costs an invalidation,
never a stale read. SQL that names a table without quotes (``extra()``,
``RawSQL``) must quote it, or the query may miss a dependency.

A table counts as *announced* when its ``queryset_tables`` trigger
(``growthcompass.cache.table_triggers``) is installed and enabled in the
database, as read from ``pg_trigger`` -- not merely declared. A relation no
trigger can watch (a materialized view) is announced through the tables an
app names with ``derived_table`` (``student_metrics_mv`` through
``view_refreshes``, written by each refresh).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections

from growthcompass.cache.table_triggers import TRIGGER_NAME
from growthcompass.db.statement_settings import strip_statement_settings

__all__ = [
    "Catalog",
    "StatementRecorder",
    "catalog",
    "derived_table",
    "derived_tables",
    "forget_catalogs",
    "quoted_identifiers",
    "recording",
    "statement_text",
    "volatile_function",
    "written_tables",
]

_QUOTED = re.compile(r'"((?:[^"]|"")+)"')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# Functions whose value changes within a transaction or between calls: their results must not be cached.
_VOLATILE = re.compile(
    r"\b(now|random|setseed|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|"
    r"nextval|currval|lastval|setval|gen_random_uuid|uuid_generate_v[14]|txid_current|pg_current_xact_id|"
    r"pg_backend_pid|inet_client_addr|pg_sleep)\s*\(|\b(current_timestamp|current_date|current_time|"
    r"localtime|localtimestamp|current_user|session_user)\b",
    re.IGNORECASE,
)
_WRITE_VERBS = frozenset({"insert", "update", "delete", "truncate", "copy", "merge"})

_derived: dict[str, frozenset[str]] = {}


def derived_table(relation: str, *, announced_by: Iterable[str]) -> None:
    """Declare that ``relation`` changes only when one of the ``announced_by`` tables is written.

    For relations no trigger can watch: a materialized view whose every
    refresh writes a row of a log table. A refresh that writes no such row
    goes unseen until the entries' TTL.
    """
    _derived[relation] = frozenset(announced_by)


def derived_tables() -> dict[str, frozenset[str]]:
    return dict(_derived)


def statement_text(sql: Any) -> str:
    """The text of a statement Django was given: a string, or a ``psycopg.sql`` composition."""
    if isinstance(sql, str):
        return strip_statement_settings(sql)
    as_string = getattr(sql, "as_string", None)
    return strip_statement_settings(str(as_string(None)) if as_string is not None else str(sql))


def quoted_identifiers(statement: str) -> set[str]:
    return {match.replace('""', '"') for match in _QUOTED.findall(statement)}


def volatile_function(statement: str) -> str | None:
    """The name of a volatile function the statement calls, if any."""
    match = _VOLATILE.search(statement)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).lower()


@dataclass(frozen=True)
class Catalog:
    """The relations of one database, those whose writes are announced, and the tables a delete cascades to."""

    relations: frozenset[str]
    announced: frozenset[str]
    cascades_to: dict[str, frozenset[str]]

    def reads(self, statements: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """``(tables, unannounced)``: the relations the statements name, and those no write announces.

        A derived relation is replaced by the tables that announce it.
        """
        tables: set[str] = set()
        unannounced: set[str] = set()
        for statement in statements:
            for name in quoted_identifiers(statement) & self.relations:
                via = _derived.get(name)
                if via is not None and via <= self.announced:
                    tables.update(via)
                elif name in self.announced:
                    tables.add(name)
                else:
                    unannounced.add(name)
        return frozenset(tables), frozenset(unannounced)

    def writes(self, statement: str) -> frozenset[str]:
        """The announced tables a write statement may change (with the tables its deletes cascade to)."""
        head = statement.lstrip()[:10].lower()
        verb = head.split(None, 1)[0] if head else ""
        if verb == "with":
            lowered = statement.lower()
            if not any(f"{v} " in lowered for v in ("insert", "update", "delete")):
                return frozenset()
        elif verb not in _WRITE_VERBS:
            return frozenset()
        names = quoted_identifiers(statement) | {w.lower() for w in _WORD.findall(statement)}
        tables = set(names & self.announced)
        if verb in ("delete", "truncate", "with"):
            for table in list(tables):
                tables |= self.cascades_to.get(table, frozenset())
        return frozenset(tables)


_CATALOG_SQL = """
SELECT c.relname,
       EXISTS (SELECT 1 FROM pg_trigger t
               WHERE t.tgrelid = c.oid AND t.tgenabled <> 'D' AND t.tgname LIKE %s)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY (current_schemas(false))
"""
_CASCADES_SQL = """
SELECT parent.relname, child.relname
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
WHERE k.contype = 'f' AND k.confdeltype IN ('c', 'n', 'd')
"""

_catalogs: dict[str, Catalog] = {}
_catalog_lock = threading.Lock()


def catalog(alias: str) -> Catalog:
    """The catalog of database ``alias``, read once per process (``forget_catalogs`` after a migration)."""
    found = _catalogs.get(alias)
    if found is not None:
        return found
    with connections[alias].cursor() as cursor:
        cursor.execute(_CATALOG_SQL, [f"pgtrigger\\_{TRIGGER_NAME}\\_%"])
        rows = cursor.fetchall()
        cursor.execute(_CASCADES_SQL)
        edges = cursor.fetchall()
    direct: dict[str, set[str]] = {}
    for parent, child in edges:
        direct.setdefault(parent, set()).add(child)
    cascades: dict[str, frozenset[str]] = {}
    for parent in direct:
        seen: set[str] = set()
        todo = [parent]
        while todo:
            for child in direct.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        cascades[parent] = frozenset(seen)
    found = Catalog(
        relations=frozenset(name for name, _ in rows),
        announced=frozenset(name for name, has_trigger in rows if has_trigger),
        cascades_to=cascades,
    )
    with _catalog_lock:
        _catalogs[alias] = found
    return found


def forget_catalogs(**kwargs: Any) -> None:
    """Read the catalogs again on next use (after ``migrate``: a post_migrate receiver)."""
    with _catalog_lock:
        _catalogs.clear()


class StatementRecorder:
    """An execute wrapper that keeps the text of every statement run through it."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        self.statements.append(statement_text(sql))
        return execute(sql, params, many, context)


@contextmanager
def recording(alias: str) -> Iterator[StatementRecorder]:
    """Record the statements this thread runs on ``alias`` inside the block."""
    recorder = StatementRecorder()
    with connections[alias].execute_wrapper(recorder):
        yield recorder


def written_tables(statements: Sequence[str], alias: str) -> frozenset[str]:
    found: set[str] = set()
    known = catalog(alias)
    for statement in statements:
        found |= known.writes(statement)
    return frozenset(found)
