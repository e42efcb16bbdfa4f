"""sqlcommenter comments: each statement says which route or command sent it.

With ``SQLCOMMENTER_ENABLED`` on (off by default), every statement sent
through Django gets a trailing comment in the sqlcommenter format::

    SELECT ... FROM students WHERE id = %s /*controller='growthcompass.api.views.table_rows',
    framework='django%3A5.2.19',route='%2Fapi%2F%3Cstr%3Atable%3E%2F'*/

so PostgreSQL's own logs (``log_min_duration_statement``) and
``pg_stat_activity`` name where a slow query came from. Requests are tagged
by ``SqlCommentMiddleware`` (the route pattern, never the raw path, and the
view); management commands by their name; any other code with
``with sql_origin(job="nightly-export"): ...``.

Values are URL-encoded, as the format requires, so nothing in them can close
the comment. A statement that already carries a comment is left as it is
(the format's rule). Statement fingerprints strip comments, so the query
tracker and ``/metrics`` count a statement once whatever its origin.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import django
from django.conf import settings
from django.core.signals import setting_changed
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponseBase

__all__ = [
    "SqlCommentMiddleware",
    "add_comment",
    "enabled",
    "install",
    "sql_comment",
    "sql_origin",
    "uninstall",
]

_tags: ContextVar[dict[str, str] | None] = ContextVar("growthcompass_sql_origin", default=None)
_process_tags: dict[str, str] = {}
_FRAMEWORK = f"django:{django.get_version()}"


def enabled() -> bool:
    """Whether statements carry the sqlcommenter comment (``SQLCOMMENTER_ENABLED``, off by default)."""
    return bool(getattr(settings, "SQLCOMMENTER_ENABLED", False))


def sql_comment(tags: dict[str, str]) -> str:
    """``/*key='value',...*/`` with keys sorted and keys and values URL-encoded (sqlcommenter)."""
    pairs = (f"{quote(key, safe='')}='{quote(value, safe='')}'" for key, value in sorted(tags.items()))
    return "/*" + ",".join(pairs) + "*/"


def add_comment(sql: str, tags: dict[str, str], *, has_params: bool) -> str:
    """``sql`` with the comment before any trailing semicolon; unchanged if it has a comment already.

    With parameters, psycopg reads ``%`` as a placeholder, so the comment's
    percent-escapes are doubled.
    """
    if not tags or "/*" in sql:
        return sql
    comment = sql_comment(tags)
    if has_params:
        comment = comment.replace("%", "%%")
    stripped = sql.rstrip()
    if stripped.endswith(";"):
        return f"{stripped[:-1]} {comment};"
    return f"{stripped} {comment}"


@contextmanager
def sql_origin(**tags: str) -> Iterator[None]:
    """Tag the statements sent within the block (merged over the enclosing tags)."""
    current = _tags.get()
    token = _tags.set({**(current or _process_tags), **tags})
    try:
        yield
    finally:
        _tags.reset(token)


def commenter(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """The ``execute_wrapper``."""
    tags = _tags.get() or _process_tags
    if tags and type(sql) is str:
        sql = add_comment(sql, tags, has_params=many or params is not None)
    return execute(sql, params, many, context)


def _attach(sender: Any, connection: Any, **kwargs: Any) -> None:
    wrappers = connection.execute_wrappers
    if commenter in wrappers:
        return
    # Inside the wrappers that time and count queries (they see the statement as the app
    # wrote it), and never last: ``with connection.execute_wrapper(...)`` pops the last one.
    names = [type(w).__name__ for w in wrappers]
    position = sum(1 for name in names[:2] if name in ("QueryTracker", "QueryInstrument"))
    wrappers.insert(position, commenter)


def install() -> None:
    """Comment every statement from now on (idempotent); tags a management command by its name."""
    from django.db import connections

    if len(sys.argv) > 1 and sys.argv[0].endswith(("manage.py", "django-admin")):
        _process_tags.update(command=sys.argv[1], framework=_FRAMEWORK)
    connection_created.connect(_attach, dispatch_uid="growthcompass.db.sqlcomment")
    for connection in connections.all(initialized_only=True):
        _attach(None, connection)


def uninstall() -> None:
    from django.db import connections

    connection_created.disconnect(dispatch_uid="growthcompass.db.sqlcomment")
    for connection in connections.all(initialized_only=True):
        while commenter in connection.execute_wrappers:
            connection.execute_wrappers.remove(commenter)


def _follow_settings(setting: str, **kwargs: Any) -> None:
    if setting == "SQLCOMMENTER_ENABLED":
        install() if enabled() else uninstall()


setting_changed.connect(_follow_settings, dispatch_uid="growthcompass.db.sqlcomment.settings")


class SqlCommentMiddleware:
    """Tag a request's statements with its route pattern and view, once the URL is resolved."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = _tags.set(None)
        try:
            return self.get_response(request)
        finally:
            _tags.reset(token)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> None:
        if not enabled():
            return
        match = request.resolver_match
        if match is None:
            return
        _tags.set({"framework": _FRAMEWORK, "route": "/" + match.route, "controller": match._func_path})
