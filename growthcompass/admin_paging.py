"""A changelist paginator for tables too large to count on every page.

Django's changelist counts its queryset for the paginator: ``SELECT count(*)``
over millions of rows (attendances, the audit log) is then the slowest query of
the page. An unfiltered list of such a table is counted from the planner's
estimate (``pg_class.reltuples``, kept current by autovacuum's ANALYZE) instead;
filtered lists, and tables below ``EXACT_COUNT_LIMIT`` rows, are counted exactly.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.functional import cached_property

# Below this many (estimated) rows the exact count is cheap enough.
EXACT_COUNT_LIMIT = 100_000


def estimated_rows(table: str, using: str = DEFAULT_DB_ALIAS) -> int:
    """The planner's row estimate for ``table``; -1 when it has never been analysed."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else -1


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists and small tables, the planner's estimate for a large whole table."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None or query.where:
            return super().count
        table = query.model._meta.db_table
        estimate = estimated_rows(table, getattr(self.object_list, "db", DEFAULT_DB_ALIAS))
        if estimate < EXACT_COUNT_LIMIT:
            return super().count
        return estimate
