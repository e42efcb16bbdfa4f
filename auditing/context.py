"""Who is acting: the audit context, and how it reaches the audit triggers.

``audit_context(user=..., reason=...)`` names the acting user (and a free-form
context: request path, command, reason) for the code inside it. The triggers
read it from the ``growthcompass.audit_context`` setting, which this module
sets *transaction-locally* (``set_config(..., true)``) by prefixing each
statement sent through Django's cursor with ``SELECT set_config(...);``
(the shared execute wrapper of ``growthcompass.db.statement_settings``, which
binds the row-level-security scope in the same statement; installed on every
connection from ``AuditingConfig.ready()``).

Why per statement and transaction-local:

- In autocommit mode a multi-statement query string is one implicit
  transaction, so the setting covers exactly the statement it precedes.
- Inside ``transaction.atomic`` it lasts until the next statement re-sets it
  or the transaction ends. Every statement while a context is active
  re-sets it, and once a context has been bound in a transaction every
  context-free statement clears it, so leaving the ``with`` block (or a
  savepoint rollback reverting a clear) cannot attribute later work to the
  wrong user.
- Nothing is ever set at session level, so a connection returned to the
  psycopg pool (which ends any open transaction) carries nothing to the next
  request that borrows it.

The context lives in a ``ContextVar``: each thread (and each asyncio task)
sees its own. Code that talks to the raw psycopg connection (COPY loaders,
for instance) bypasses Django's execute wrappers; inside a transaction it can
call ``bind_audit_context(cursor)`` once to attribute its statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from auditing.triggers import CONTEXT_SETTING
from growthcompass.db.statement_settings import (
    StatementSetting,
    bind_now,
    bind_statement_settings,
    install_statement_settings_wrapper,
    register_statement_setting,
)
from growthcompass.rls.context import RlsScope


class _HasPk(Protocol):
    pk: Any


@dataclass(frozen=True)
class AuditContext:
    """The acting user's id (or ``None``) and the free-form context stored with each change."""

    user_id: int | None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> str:
        """The JSON the triggers parse: ``{"user_id": ..., **details}``."""
        data: dict[str, Any] = dict(self.details)
        if self.user_id is not None:
            data["user_id"] = self.user_id
        return json.dumps(data, default=str, sort_keys=True)


_current: ContextVar[AuditContext | None] = ContextVar("growthcompass_audit_context", default=None)


def current_audit_context() -> AuditContext | None:
    return _current.get()


def _user_id(user: _HasPk | int | None) -> int | None:
    if user is None or isinstance(user, int):
        return user
    if getattr(user, "is_authenticated", True) is False:
        return None
    return int(user.pk)


@contextmanager
def audit_context(
    *,
    user: _HasPk | int | None = None,
    reason: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
    **details: Any,
) -> Iterator[AuditContext]:
    """Attribute every change made inside the block to ``user``, with ``reason`` and ``details``.

    Nested blocks inherit the outer user and details and may override them.
    ``details`` are free-form JSON-serialisable values (``path``, ``command``,
    ...); ``None`` values are dropped. Works in autocommit mode and inside
    ``transaction.atomic``; when entered inside a transaction the context is
    also bound to it at once (so raw-psycopg statements in it see it too).
    """
    parent = _current.get()
    merged: dict[str, Any] = dict(parent.details) if parent else {}
    merged.update({key: value for key, value in {"reason": reason, **details}.items() if value is not None})
    user_id = _user_id(user)
    if user_id is None and parent is not None:
        user_id = parent.user_id
    context = AuditContext(user_id=user_id, details=merged)
    token = _current.set(context)
    connection = connections[using]
    try:
        bind_now(connection)
        yield context
    finally:
        _current.reset(token)
        bind_now(connection)


def bind_audit_context(cursor: psycopg.Cursor[Any]) -> None:
    """Bind the current context (or none) to the transaction of a raw psycopg ``cursor``.

    For code that writes through the psycopg connection directly, bypassing
    Django's cursor: call it once after the transaction has begun. It binds
    every statement setting (the row-level-security scope too), as the
    execute wrapper would.
    """
    bind_statement_settings(cursor)


def audit_system_scope(scope: RlsScope) -> AbstractContextManager[AuditContext]:
    """Record a row-level-security system scope (and its reason) in the audit context of its block."""
    return audit_context(reason=scope.reason, rls=scope.kind)


def _audit_payload() -> str | None:
    context = _current.get()
    return context.payload if context is not None else None


AUDIT_STATEMENT_SETTING = StatementSetting(CONTEXT_SETTING, _audit_payload)


def install_audit_wrapper(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: the shared statement-settings wrapper, with the audit context in it."""
    register_statement_setting(AUDIT_STATEMENT_SETTING)
    install_statement_settings_wrapper(connection=connection)
