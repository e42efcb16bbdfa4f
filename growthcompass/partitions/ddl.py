"""Creating one partition: the one function every new partition goes through.

``create_partition`` is called by the migrations that partition a table and by
``partitions_maintain``; nothing else runs ``ATTACH PARTITION``. Whatever a
new partition must carry beyond what PostgreSQL gives it (row-level security
policies, grants) belongs here, once.

What PostgreSQL gives a partition by itself: the parent's columns, the
indexes of the parent (``CREATE INDEX`` on a partitioned table is inherited,
the BRIN time index included, one per partition), its CHECK and NOT NULL
constraints and its row-level triggers. What it does not: the parent's
*statement-level* triggers, which fire only for statements naming the parent.
A statement naming the partition itself (``DELETE FROM audit_log_p2026_12``)
would pass the append-only guard unseen, so each is cloned here, with the same
name and function (``pgtrigger.ignore`` matches the trigger's name, so a
sanctioned bypass of the parent's trigger covers its clones too).

The partition is built as a plain table and then attached, rather than
``CREATE TABLE ... PARTITION OF``: attaching takes a ``SHARE UPDATE
EXCLUSIVE`` lock on the parent, which readers and writers never wait for,
where ``PARTITION OF`` takes ``ACCESS EXCLUSIVE``. A CHECK constraint equal
to the bounds lets PostgreSQL skip scanning the new table; the DEFAULT
partition is scanned (under its own lock) to prove it holds no row of the new
range, which is why the rows of that range are moved out of it first, in the
same transaction.
"""

from __future__ import annotations

import datetime as dt

import pgtrigger
from django.db.backends.utils import CursorWrapper
from psycopg import sql

from growthcompass.partitions import PartitionedTable
from growthcompass.partitions.catalog import default_partition, key_is_date
from growthcompass.partitions.config import boundary_zone

__all__ = ["clone_statement_triggers", "create_partition"]

STATEMENT_TRIGGERS_SQL = """
SELECT t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger AS t
WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal AND t.tgparentid = 0
  AND (t.tgtype & 1) = 0  -- statement-level: row-level ones are cloned by PostgreSQL
  AND t.tgenabled <> 'D'
ORDER BY t.tgname
"""


def _qualified(cursor: CursorWrapper, table: str) -> str:
    # pg_get_triggerdef (not pretty) prints the table schema-qualified, as regclass
    # does once the search path is empty; read it the same way to replace it exactly.
    cursor.execute(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class AS c"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        [table],
    )
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no table {table!r}")
    return str(row[0])


def _execute(cursor: CursorWrapper, query: sql.Composable) -> None:
    # As text: execute wrappers (pgtrigger.ignore, the audit context) prefix the statement as a string.
    cursor.execute(query.as_string(None))


def clone_statement_triggers(cursor: CursorWrapper, *, parent: str, partition: str) -> list[str]:
    """Give ``partition`` every enabled statement-level trigger of ``parent``; returns their names.

    ``CREATE OR REPLACE``: running it again, or on a partition that already has
    them (an old table attached as a partition), changes nothing.
    """
    parent_name, partition_name = _qualified(cursor, parent), _qualified(cursor, partition)
    cursor.execute(STATEMENT_TRIGGERS_SQL, [parent])
    cloned = []
    for name, definition in cursor.fetchall():
        on_parent = f" ON {parent_name} "
        if not definition.startswith("CREATE TRIGGER ") or on_parent not in definition:
            raise RuntimeError(f"unexpected definition of trigger {name} on {parent}: {definition}")
        statement = "CREATE OR REPLACE TRIGGER " + definition.removeprefix("CREATE TRIGGER ").replace(
            on_parent, f" ON {partition_name} ", 1
        )
        cursor.execute(statement)
        cloned.append(str(name))
    return cloned


def create_partition(
    cursor: CursorWrapper,
    table: PartitionedTable,
    *,
    lower: dt.datetime | None,
    upper: dt.datetime | None,
    name: str,
    default: bool = False,
) -> int:
    """Create and attach the partition ``name`` of ``table`` for ``[lower, upper)`` (or the DEFAULT one).

    Rows of that range waiting in the DEFAULT partition are moved into it first
    (returned: how many). Run it inside a transaction: on any error nothing is
    left behind, the moved rows included. ``lower=None`` means ``MINVALUE``.
    """
    parent, partition = sql.Identifier(table.table), sql.Identifier(name)
    column = sql.Identifier(table.column)
    # A date key (attendances.session_date) is bounded by days: the bound moments are
    # midnights in TIME_ZONE, and their date there is the day they stand for.
    as_date = key_is_date(cursor, table.table)

    def literal(moment: dt.datetime) -> sql.Composable:
        return sql.Literal(moment.astimezone(boundary_zone()).date() if as_date else moment)

    _execute(
        cursor,
        sql.SQL(
            "CREATE TABLE {partition} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
        ).format(partition=partition, parent=parent),
    )
    moved = 0
    bound: sql.Composable
    if default:
        bound = sql.SQL("DEFAULT")
    else:
        if upper is None:
            raise ValueError("a bounded partition needs an upper bound")
        low = sql.SQL("MINVALUE") if lower is None else literal(lower)
        bound = sql.SQL("FOR VALUES FROM ({low}) TO ({high})").format(low=low, high=literal(upper))
        in_range: sql.Composable = sql.SQL("{column} < {high}").format(column=column, high=literal(upper))
        if lower is not None:
            in_range = sql.SQL("{column} >= {low} AND ").format(column=column, low=literal(lower)) + in_range
        check = sql.Identifier(f"{name}_bound"[:63])
        # Proves the bounds to ATTACH, which then skips scanning the table.
        _execute(
            cursor,
            sql.SQL("ALTER TABLE {partition} ADD CONSTRAINT {check} CHECK ({in_range})").format(
                partition=partition, check=check, in_range=in_range
            ),
        )
        waiting = default_partition(cursor, table.table)
        if waiting is not None:
            # Rows of this range may only leave the DEFAULT partition once no one can add
            # more: EXCLUSIVE lets readers in, and no other writer of the DEFAULT partition.
            _execute(cursor, sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(waiting.name)))
            with pgtrigger.ignore(*table.move_ignores):
                _execute(
                    cursor,
                    sql.SQL(
                        "WITH moved AS (DELETE FROM {waiting} WHERE {in_range} RETURNING *)"
                        " INSERT INTO {partition} SELECT * FROM moved"
                    ).format(waiting=sql.Identifier(waiting.name), in_range=in_range, partition=partition),
                )
                moved = max(cursor.rowcount, 0)
    _execute(
        cursor,
        sql.SQL("ALTER TABLE {parent} ATTACH PARTITION {partition} {bound}").format(
            parent=parent, partition=partition, bound=bound
        ),
    )
    if not default:
        _execute(
            cursor, sql.SQL("ALTER TABLE {partition} DROP CONSTRAINT {check}").format(partition=partition, check=check)
        )
    clone_statement_triggers(cursor, parent=table.table, partition=name)
    return moved
