"""The errors the database layer raises on purpose.

``InvalidQuery`` is the one exception the safe query API raises for input it
refuses: callers (views, scripts) catch it and show its message, which names
the offending part. It subclasses ``ValueError`` because bad input is a value
problem, never a database one: refused input is rejected before any SQL is
built, so PostgreSQL never sees it.

``QueryTimeout`` subclasses Django's ``OperationalError`` so code that already
handles database errors keeps working, while callers that care can tell a
cancelled runaway query from a lost connection.
"""

from __future__ import annotations

from django.db.utils import OperationalError

# The parts of a query an ``InvalidQuery`` can name.
QUERY_PARTS = (
    "table",
    "column",
    "operator",
    "value",
    "condition",
    "filters",
    "order_by",
    "order_direction",
    "limit",
    "offset",
)


class InvalidQuery(ValueError):
    """A query the safe query API refuses; ``part`` says which part is wrong."""

    def __init__(self, message: str, *, part: str) -> None:
        super().__init__(message)
        self.message = message
        self.part = part


class UnknownTable(InvalidQuery):
    """The table is not one the safe query API exposes (the JSON endpoint answers 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, part="table")


class QueryTimeout(OperationalError):
    """PostgreSQL cancelled the statement: it ran longer than ``statement_timeout``."""
