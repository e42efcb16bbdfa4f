"""What PostgreSQL says a partitioned table holds: its partitions and their bounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.backends.utils import CursorWrapper

from growthcompass.partitions.config import boundary_zone

# The bounds as PostgreSQL prints them (pg_get_expr of relpartbound), read back as
# timestamptz; MINVALUE / MAXVALUE become NULL (unbounded on that side). The bound of a
# date key ('2026-12-01') reads as midnight of that day in TIME_ZONE (the zone passed),
# so it compares with month_start() whatever the session's TimeZone.
PARTITIONS_SQL = r"""
SELECT c.relname,
       b.expr = 'DEFAULT' AS is_default,
       CASE WHEN m[1] IN ('MINVALUE', 'MAXVALUE') THEN NULL
            WHEN k.is_date THEN trim(both '''' from m[1])::date::timestamp AT TIME ZONE %(zone)s
            ELSE trim(both '''' from m[1])::timestamptz END,
       CASE WHEN m[2] IN ('MINVALUE', 'MAXVALUE') THEN NULL
            WHEN k.is_date THEN trim(both '''' from m[2])::date::timestamp AT TIME ZONE %(zone)s
            ELSE trim(both '''' from m[2])::timestamptz END
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) AS b
CROSS JOIN LATERAL (
    SELECT coalesce(bool_or(a.atttypid = 'date'::regtype), false) AS is_date
    FROM pg_partitioned_table AS p
    JOIN pg_attribute AS a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = i.inhparent
) AS k
LEFT JOIN LATERAL regexp_match(b.expr, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS m ON true
WHERE i.inhparent = to_regclass(%(table)s)
ORDER BY is_default, 3 NULLS FIRST
"""

KEY_IS_DATE_SQL = """
SELECT a.atttypid = 'date'::regtype
FROM pg_partitioned_table AS p
JOIN pg_attribute AS a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
WHERE p.partrelid = to_regclass(%s)
"""


@dataclass(frozen=True)
class Partition:
    """One partition; ``lower`` / ``upper`` are ``None`` when unbounded (and for the DEFAULT partition)."""

    name: str
    is_default: bool
    lower: dt.datetime | None
    upper: dt.datetime | None

    def covers(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether ``[start, end)`` lies inside this partition's range."""
        if self.is_default:
            return False
        return (self.lower is None or self.lower <= start) and (self.upper is None or end <= self.upper)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        if self.is_default:
            return False
        return (self.lower is None or self.lower < end) and (self.upper is None or start < self.upper)


def is_partitioned(cursor: CursorWrapper, table: str) -> bool:
    cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row and row[0])


def partitions(cursor: CursorWrapper, table: str) -> list[Partition]:
    """The partitions of ``table``, the bounded ones by lower bound, the DEFAULT one last."""
    cursor.execute(PARTITIONS_SQL, {"zone": boundary_zone().key, "table": table})
    return [
        Partition(name=name, is_default=default, lower=lower, upper=upper)
        for name, default, lower, upper in cursor.fetchall()
    ]


def key_is_date(cursor: CursorWrapper, table: str) -> bool:
    """Whether ``table`` is partitioned on a ``date`` column (its bounds are then days, not moments)."""
    cursor.execute(KEY_IS_DATE_SQL, [table])
    row = cursor.fetchone()
    return bool(row and row[0])


def default_partition(cursor: CursorWrapper, table: str) -> Partition | None:
    return next((partition for partition in partitions(cursor, table) if partition.is_default), None)
