"""An execute wrapper kept on every database connection, at a chosen place in the wrapper list.

Query tracking and the Prometheus query instrument both wrap every statement of
every connection, in every thread. Django keeps the wrapper list on its
per-thread connection object, which survives close and reconnect, so the
wrapper is attached when a connection object is first created
(``connection_created``) and to the ones that exist at install time. Its place
matters -- the first wrapper is outermost, sees the statement the application
sent and times all of it -- and wrappers attached later (the audit wrapper puts
itself first) may push it inwards, so each (re)connection puts it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ConnectionWrapper:
    """``wrapper`` on every connection from ``install()`` until ``uninstall()``; both idempotent.

    ``place(others)`` gives the index the wrapper belongs at in a connection's
    wrapper list, given the other wrappers on it (default: first, outermost).
    """

    def __init__(
        self, wrapper: Any, *, dispatch_uid: str, place: Callable[[list[Any]], int] = lambda others: 0
    ) -> None:
        self.wrapper = wrapper
        self.dispatch_uid = dispatch_uid
        self.place = place
        self.installed = False

    def attach(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        """Put the wrapper at its place on ``connection`` (the ``connection_created`` receiver)."""
        wrappers = connection.execute_wrappers
        others = [wrapper for wrapper in wrappers if wrapper is not self.wrapper]
        at = self.place(others)
        if len(others) == len(wrappers) - 1 and len(wrappers) > at and wrappers[at] is self.wrapper:
            return
        wrappers[:] = others
        wrappers.insert(at, self.wrapper)

    def install(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        if self.installed:
            return
        connection_created.connect(self.attach, dispatch_uid=self.dispatch_uid, weak=False)
        for connection in connections.all(initialized_only=True):
            self.attach(None, connection)
        self.installed = True

    def uninstall(self) -> None:
        """Wrap no more statements (to measure the wrapper's own cost); connections keep working."""
        from django.db import connections
        from django.db.backends.signals import connection_created

        connection_created.disconnect(dispatch_uid=self.dispatch_uid)
        for connection in connections.all(initialized_only=True):
            connection.execute_wrappers[:] = [w for w in connection.execute_wrappers if w is not self.wrapper]
        self.installed = False
