"""Count and time every SQL statement into the Prometheus instruments, with a connection ``execute_wrapper``.

The query tracker (``growthcompass.db.monitoring``) keeps its own figures for
``query_report``; this wrapper feeds ``/metrics`` and is independent of it:
the tracker's internals are not read, only its public ``fingerprint``
(through ``sources``), so the same ids appear in both.

It goes just inside the tracker (second in the list when the tracker is
first, else first): the SQL it fingerprints is the one the app sent, and a
``with connection.execute_wrapper(...)`` block, which pops the *last*
wrapper on exit, never takes this one off.

The hot path is a dict lookup for the statement (fingerprints are computed
once per distinct SQL text), a dict lookup for its label children, and three
instrument updates; its cost is measured in ``benchmarks/bench_metrics_export.py``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.signals import setting_changed

from growthcompass.db.execute_wrappers import ConnectionWrapper
from growthcompass.metrics import config, sources
from growthcompass.metrics.instruments import (
    DB_QUERIES,
    DB_QUERY_DURATION,
    DB_QUERY_ERRORS,
    DB_QUERY_SECONDS,
    DB_SLOW_QUERIES,
    DB_STATEMENT_INFO,
)
from growthcompass.metrics.labels import OTHER, BoundedLabels

__all__ = [
    "QueryInstrument",
    "SlowStatementHook",
    "install",
    "instrument",
    "is_installed",
    "on_slow_statement",
    "uninstall",
]

# Called with (alias, SQL text, seconds) for each execution at least SLOW_QUERY_MS long, in the
# thread that ran it: a hook must only hand the statement on (to a queue), never do the work there.
SlowStatementHook = Callable[[str, str, float], None]
_slow_hooks: list[SlowStatementHook] = []


def on_slow_statement(hook: SlowStatementHook) -> SlowStatementHook:
    """Register ``hook`` for slow executions (idempotent); the plan capture is one."""
    if hook not in _slow_hooks:
        _slow_hooks.append(hook)
    return hook


_CACHE_LIMIT = 4096
_INFO_TEXT_CHARS = 160


def _sql_text(sql: Any) -> str:
    if isinstance(sql, str):
        return sql
    as_string = getattr(sql, "as_string", None)  # psycopg.sql.Composable
    if as_string is not None:
        try:
            return str(as_string())
        except Exception:  # noqa: S110 - counting must never break a query
            pass
    return str(sql)


class _Children:
    """The label children of one (alias, statement), bound once.

    Errors and slow runs are bound on first need: a statement that never
    failed or ran slow adds no series for them.
    """

    __slots__ = ("alias", "calls", "duration", "seconds", "statement")

    def __init__(self, alias: str, statement: str) -> None:
        self.alias = alias
        self.statement = statement
        self.calls = DB_QUERIES.labels(alias, statement)
        self.seconds = DB_QUERY_SECONDS.labels(alias, statement)
        self.duration = DB_QUERY_DURATION.labels(alias)


class _Paused(threading.local):
    depth = 0  # a class default: reading it in a thread that never paused is a plain lookup


class QueryInstrument:
    """The ``execute_wrapper``: one instance per process."""

    def __init__(self) -> None:
        self._paused = _Paused()
        self._fingerprints: dict[str, tuple[str, str]] = {}
        self._children: dict[tuple[str, str], _Children] = {}
        self._statements: dict[str, BoundedLabels] = {}
        self.slow_s = sources.slow_query_ms() / 1000.0

    def __call__(self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if self._paused.depth:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            result = execute(sql, params, many, context)
        except BaseException:
            self.record(context["connection"].alias, sql, time.perf_counter() - started, failed=True)
            raise
        self.record(context["connection"].alias, sql, time.perf_counter() - started)
        return result

    def record(self, alias: str, sql: Any, seconds: float, *, failed: bool = False) -> None:
        text = sql if type(sql) is str else _sql_text(sql)
        known = self._fingerprints.get(text)
        if known is None:
            known = sources.statement_fingerprint(text)
            if len(self._fingerprints) >= _CACHE_LIMIT:
                self._fingerprints.clear()
            self._fingerprints[text] = known
        children = self._children.get((alias, known[0]))
        if children is None:
            children = self._bind(alias, known)
        children.calls.inc()
        children.seconds.inc(seconds)
        children.duration.observe(seconds)
        if failed:
            DB_QUERY_ERRORS.labels(children.alias, children.statement).inc()
        if seconds >= self.slow_s:
            DB_SLOW_QUERIES.labels(children.alias, children.statement).inc()
            for hook in _slow_hooks:
                try:
                    hook(alias, text, seconds)
                except Exception:  # noqa: S110 - a hook must never break the query that was slow
                    pass

    def _bind(self, alias: str, known: tuple[str, str]) -> _Children:
        labels = self._statements.get(alias)
        if labels is None:
            labels = self._statements.setdefault(alias, BoundedLabels(config.max_statements()))
        fingerprint_id, normalised = known
        statement = labels.fold(fingerprint_id)
        if statement != OTHER:
            DB_STATEMENT_INFO.labels(alias, statement, normalised[:_INFO_TEXT_CHARS]).set(1)
        if len(self._children) >= _CACHE_LIMIT:
            self._children.clear()
        children = _Children(alias, statement)
        self._children[(alias, fingerprint_id)] = children
        return children

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Within the block, this thread's queries are not counted (the scrape's own, say)."""
        self._paused.depth += 1
        try:
            yield
        finally:
            self._paused.depth -= 1

    def reset(self) -> None:
        """Forget which statements were labelled (a forked worker starts its own set)."""
        self._fingerprints = {}
        self._children = {}
        self._statements = {}
        self.slow_s = sources.slow_query_ms() / 1000.0


instrument = QueryInstrument()


def _follow_settings(setting: str, **kwargs: Any) -> None:
    # SLOW_QUERY_MS is read once, not per query; override_settings reaches it through here.
    if setting == "SLOW_QUERY_MS":
        instrument.slow_s = sources.slow_query_ms() / 1000.0


setting_changed.connect(_follow_settings, dispatch_uid="growthcompass.metrics.queries.settings")


def _after_the_tracker(others: list[Any]) -> int:
    # Right after the query tracker when it leads the list (it times the whole statement and is
    # not imported here: monitoring and metrics stay independent), otherwise first; never inside
    # a wrapper that rewrites the SQL, such as the audit wrapper.
    return 1 if others and type(others[0]).__name__ == "QueryTracker" else 0


_on_connections = ConnectionWrapper(instrument, dispatch_uid="growthcompass.metrics.queries", place=_after_the_tracker)


def install() -> None:
    """Count every query from now on (idempotent)."""
    _on_connections.install()


def uninstall() -> None:
    """Stop counting (to measure the instrument's own cost); counts so far are kept."""
    _on_connections.uninstall()


def is_installed() -> bool:
    return _on_connections.installed


os.register_at_fork(after_in_child=instrument.reset)
