"""Time every query the app sends through Django, with a connection ``execute_wrapper``.

``install()`` (called from ``GrowthCompassConfig.ready()`` unless
``QUERY_TRACKING`` is off) hooks ``connection_created`` so every
connection, in every thread, gets the wrapper once. Queries that bypass
Django's cursors -- raw psycopg connections, the pool's own health checks --
are not seen.

The hot path is kept short on purpose (its cost per query is measured in
``benchmarks/bench_metrics.py``): the statement's fingerprint is cached by
SQL text, so the regular expressions run once per distinct statement, and
the update is a handful of integer additions under one uncontended lock.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from growthcompass.db.execute_wrappers import ConnectionWrapper
from growthcompass.db.monitoring.fingerprint import fingerprint
from growthcompass.db.monitoring.metrics import QueryMetrics, StatementMetrics, bucket_of, process_name
from growthcompass.db.statement_settings import strip_statement_settings

logger = logging.getLogger("growthcompass.db.slow_queries")

# Past this many distinct statements per process, new ones are counted under
# one "(other statements)" entry so a query built with unbounded variety
# (say, raw SQL with inlined literals the normaliser misses) cannot grow memory.
MAX_STATEMENTS = 2000
_FINGERPRINT_CACHE_SIZE = 4096
_OTHER = ("(other)", "(other statements)")
_TEMPLATE_CHARS = 20_000
_LOGGED_CHARS = 500


@dataclass(slots=True)
class _Statement:
    alias: str
    fingerprint: str
    statement: str
    template: str
    calls: int = 0
    errors: int = 0
    slow_calls: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    histogram: dict[int, int] = field(default_factory=dict)


class _Paused(threading.local):
    # A class default, so reading it in a thread that never paused is a plain
    # lookup rather than a caught AttributeError (this sits on every query).
    depth = 0


def _sql_text(sql: Any) -> str:
    if isinstance(sql, str):
        return sql
    as_string = getattr(sql, "as_string", None)  # psycopg.sql.Composable
    if as_string is not None:
        try:
            return str(as_string())
        except Exception:  # noqa: S110 - falls back to repr; tracking must never break a query
            pass
    return str(sql)


class QueryTracker:
    """Per-process query metrics; an instance is the ``execute_wrapper`` itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statements: dict[tuple[str, str], _Statement] = {}
        self._fingerprints: dict[str, tuple[str, str]] = {}
        self._paused = _Paused()
        self.started_at = time.time()
        self.slow_query_ms: float = settings.SLOW_QUERY_MS

    # --- the wrapper ------------------------------------------------------------
    def __call__(self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if self._paused.depth:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            result = execute(sql, params, many, context)
        except BaseException:
            self.record(context["connection"].alias, sql, (time.perf_counter() - started) * 1000.0, failed=True)
            raise
        self.record(context["connection"].alias, sql, (time.perf_counter() - started) * 1000.0)
        return result

    def record(self, alias: str, sql: Any, duration_ms: float, *, failed: bool = False) -> None:
        text = strip_statement_settings(sql if type(sql) is str else _sql_text(sql))
        known = self._fingerprints.get(text)
        if known is None:
            known = fingerprint(text)
            if len(self._fingerprints) >= _FINGERPRINT_CACHE_SIZE:
                self._fingerprints.clear()
            self._fingerprints[text] = known
        fingerprint_id, normalised = known
        slow = duration_ms >= self.slow_query_ms
        bucket = bucket_of(duration_ms)
        with self._lock:
            stats = self._statements.get((alias, fingerprint_id))
            if stats is None:
                if len(self._statements) >= MAX_STATEMENTS:
                    fingerprint_id, normalised = _OTHER
                    text = ""
                stats = self._statements.setdefault(
                    (alias, fingerprint_id),
                    _Statement(alias, fingerprint_id, normalised, text[:_TEMPLATE_CHARS]),
                )
            stats.calls += 1
            stats.total_ms += duration_ms
            if duration_ms > stats.max_ms:
                stats.max_ms = duration_ms
            stats.histogram[bucket] = stats.histogram.get(bucket, 0) + 1
            if failed:
                stats.errors += 1
            if slow:
                stats.slow_calls += 1
        if slow:
            logger.warning(
                "slow query: %.1f ms on %s [%s] %s",
                duration_ms,
                alias,
                fingerprint_id,
                normalised[:_LOGGED_CHARS],
                extra={"fingerprint": fingerprint_id, "duration_ms": duration_ms, "alias": alias},
            )

    # --- reading --------------------------------------------------------------------
    def metrics(self) -> QueryMetrics:
        with self._lock:
            statements = tuple(
                StatementMetrics(
                    alias=s.alias,
                    fingerprint=s.fingerprint,
                    statement=s.statement,
                    template=s.template,
                    calls=s.calls,
                    errors=s.errors,
                    slow_calls=s.slow_calls,
                    total_ms=s.total_ms,
                    max_ms=s.max_ms,
                    histogram=dict(s.histogram),
                )
                for s in self._statements.values()
            )
        return QueryMetrics(
            started_at=self.started_at,
            slow_query_ms=self.slow_query_ms,
            statements=statements,
            processes=(process_name(),),
        )

    def reset(self) -> None:
        with self._lock:
            self._statements = {}
            self.started_at = time.time()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Within the block, this thread's queries are not tracked (the report's own, say)."""
        self._paused.depth += 1
        try:
            yield
        finally:
            self._paused.depth -= 1


tracker = QueryTracker()


def _follow_settings(setting: str, value: Any, **kwargs: Any) -> None:
    # SLOW_QUERY_MS is read once, not on every query; tests' override_settings reach it through here.
    if setting == "SLOW_QUERY_MS":
        tracker.slow_query_ms = settings.SLOW_QUERY_MS


setting_changed.connect(_follow_settings, dispatch_uid="growthcompass.db.monitoring.settings")


# First in the list means outermost: the fingerprint is of the statement the app sent (before,
# say, the audit wrapper prefixes its set_config), the time is all the query cost, and a
# ``with connection.execute_wrapper(...)`` block open at the time pops its own wrapper on exit.
_on_connections = ConnectionWrapper(tracker, dispatch_uid="growthcompass.db.monitoring")


def install() -> None:
    """Track every query from now on (idempotent)."""
    _on_connections.install()


def uninstall() -> None:
    """Stop tracking (for measuring the tracking's own cost); the metrics so far are kept."""
    _on_connections.uninstall()


def is_installed() -> bool:
    return _on_connections.installed


def _reset_after_fork() -> None:
    # A forked worker starts its own count; the parent's numbers are the parent's.
    tracker.reset()


os.register_at_fork(after_in_child=_reset_after_fork)
