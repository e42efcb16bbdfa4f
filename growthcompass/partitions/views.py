"""Materialized views over a table that is being replaced by a partitioned one.

A view is bound to the table it reads by the table's identity, not its name:
once a migration renames the heap (to attach it as a partition) and creates the
partitioned table under the old name, the views would go on reading the old
heap, now one partition of many. The migration that swaps the tables therefore
reads each dependent materialized view's definition and indexes while the name
still means the heap, drops the views, and creates them again over the new
table ``WITH NO DATA`` in the same short transaction (catalog changes only);
``refresh_unpopulated`` then fills them after it commits, reading the table
under the ordinary ``ACCESS SHARE`` lock that writers do not wait for.

Until that refresh ends, a read of such a view waits for it (or, in the instant
between the commit and the refresh's lock, fails as "not populated"): the price
of not computing a million-row aggregate while the table's writers wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.backends.utils import CursorWrapper
from psycopg import sql

from growthcompass.partitions.grants import Grant, grants_of, restore_grants

__all__ = ["DependentView", "create_views", "dependent_views", "drop_views", "refresh_unpopulated"]

DEPENDENT_VIEWS_SQL = """
SELECT DISTINCT v.oid, v.relname, v.relkind, pg_get_viewdef(v.oid)
FROM pg_depend AS d
JOIN pg_rewrite AS r ON r.oid = d.objid
JOIN pg_class AS v ON v.oid = r.ev_class
WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.refobjid = to_regclass(%s) AND v.oid <> d.refobjid
ORDER BY v.relname
"""
VIEW_INDEXES_SQL = "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s ORDER BY indexrelid"


@dataclass(frozen=True)
class DependentView:
    """A materialized view reading a table: what it takes to create it again."""

    name: str
    definition: str
    indexes: tuple[str, ...]
    grants: tuple[Grant, ...] = ()


def dependent_views(cursor: CursorWrapper, table: str) -> list[DependentView]:
    """The materialized views reading ``table``, as their definitions print now.

    Only materialized views on the table itself are handled: a plain view, or a
    view over one of these views, would need its own order of re-creation, and
    is refused rather than silently dropped.
    """
    cursor.execute(DEPENDENT_VIEWS_SQL, [table])
    found = []
    for oid, name, kind, definition in cursor.fetchall():
        if kind != "m":
            raise RuntimeError(f"view {name} reads {table}: only materialized views can be carried over")
        cursor.execute(DEPENDENT_VIEWS_SQL, [name])
        if cursor.fetchall():
            raise RuntimeError(f"views read the materialized view {name} over {table}: drop them first")
        cursor.execute(VIEW_INDEXES_SQL, [oid])
        indexes = tuple(i for (i,) in cursor.fetchall())
        found.append(
            DependentView(name=name, definition=definition, indexes=indexes, grants=tuple(grants_of(cursor, name)))
        )
    return found


def drop_views(cursor: CursorWrapper, views: list[DependentView]) -> None:
    for view in views:
        cursor.execute(sql.SQL("DROP MATERIALIZED VIEW {}").format(sql.Identifier(view.name)).as_string(None))


def create_views(cursor: CursorWrapper, views: list[DependentView]) -> None:
    """Create ``views`` again, unpopulated, with their indexes and grants (``refresh_unpopulated`` fills them)."""
    for view in views:
        cursor.execute(
            sql.SQL("CREATE MATERIALIZED VIEW {name} AS {definition} WITH NO DATA")
            .format(name=sql.Identifier(view.name), definition=sql.SQL(view.definition.strip().rstrip(";")))
            .as_string(None)
        )
        for index in view.indexes:
            cursor.execute(index)
        restore_grants(cursor, view.name, list(view.grants))


def refresh_unpopulated(cursor: CursorWrapper, views: list[str]) -> list[str]:
    """``REFRESH`` each of ``views`` that is not populated; returns those refreshed."""
    refreshed = []
    for name in views:
        cursor.execute("SELECT NOT relispopulated FROM pg_class WHERE oid = to_regclass(%s) AND relkind = 'm'", [name])
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(name)).as_string(None))
            refreshed.append(name)
    return refreshed
