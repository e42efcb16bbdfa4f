"""Bounded label values: the first N distinct values keep their name, the rest become ``other``.

A label taken from traffic (a route, a statement) could otherwise create a
series per distinct value and grow a process's memory and the server's
storage without limit. The cap is per process and first come, first kept:
the statements and routes an app runs all the time are, in practice, the
ones it runs first.
"""

from __future__ import annotations

import threading

__all__ = ["OTHER", "BoundedLabels"]

OTHER = "other"


class BoundedLabels:
    """Admit at most ``limit`` distinct values; ``fold(value)`` is the value or ``OTHER``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def fold(self, value: str) -> str:
        if value in self._admitted:
            return value
        with self._lock:
            if value in self._admitted:
                return value
            if len(self._admitted) >= self.limit:
                return OTHER
            self._admitted.add(value)
            return value

    def admitted(self) -> frozenset[str]:
        return frozenset(self._admitted)

    def reset(self, limit: int | None = None) -> None:
        with self._lock:
            self._admitted = set()
            if limit is not None:
                self.limit = limit
