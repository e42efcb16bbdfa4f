"""What PostgreSQL says a partitioned table holds: its partitions and their bounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.backends.utils import CursorWrapper

# The bounds as PostgreSQL prints them (pg_get_expr of relpartbound), read back as
# timestamptz; MINVALUE / MAXVALUE become NULL (unbounded on that side).
PARTITIONS_SQL = r"""
SELECT c.relname,
       b.expr = 'DEFAULT' AS is_default,
       CASE WHEN m[1] IN ('MINVALUE', 'MAXVALUE') THEN NULL ELSE trim(both '''' from m[1])::timestamptz END,
       CASE WHEN m[2] IN ('MINVALUE', 'MAXVALUE') THEN NULL ELSE trim(both '''' from m[2])::timestamptz END
FROM pg_inherits AS i
JOIN pg_class AS c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) AS b
LEFT JOIN LATERAL regexp_match(b.expr, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS m ON true
WHERE i.inhparent = to_regclass(%s)
ORDER BY is_default, 3 NULLS FIRST
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
    cursor.execute(PARTITIONS_SQL, [table])
    return [
        Partition(name=name, is_default=default, lower=lower, upper=upper)
        for name, default, lower, upper in cursor.fetchall()
    ]


def default_partition(cursor: CursorWrapper, table: str) -> Partition | None:
    return next((partition for partition in partitions(cursor, table) if partition.is_default), None)
