"""Whose rows a statement may see: the row-level-security scope, and how it reaches the policies.

A scope is a kind (``system``, ``admin``, ``office``, ``teacher``) and, for a
user, their id. The policies read it from two custom settings,
``growthcompass.rls_kind`` and ``growthcompass.rls_user``, bound
transaction-locally to every statement by the shared execute wrapper
(``growthcompass.db.statement_settings``) in the same ``set_config`` prefix
as the audit context: never at session level, so a pooled connection carries
nothing to its next borrower.

No scope means no rows and refused writes: the fallback
(``RLS_FALLBACK_CONTEXT``) is None outside the test suite. Maintenance code
declares its scope: ``with rls_system_context(reason=...)`` (recorded in the
audit context through a hook the auditing app registers), or a command's
``--as-user``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from growthcompass.db.statement_settings import StatementSetting, bind_now

KIND_SETTING = "growthcompass.rls_kind"
USER_SETTING = "growthcompass.rls_user"
SYSTEM, ADMIN, OFFICE, TEACHER = "system", "admin", "office", "teacher"
KINDS = (SYSTEM, ADMIN, OFFICE, TEACHER)


@dataclass(frozen=True)
class RlsScope:
    """What the policies let a statement see: ``kind``, and the acting user's id for a teacher."""

    kind: str
    user_id: int | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"row-level-security kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if self.kind == TEACHER and self.user_id is None:
            raise ValueError("a teacher scope needs the teacher's user id")

    @property
    def sees_all(self) -> bool:
        """Every domain row (the policies' ``gc_rls_sees_all()``)."""
        return self.kind in (SYSTEM, ADMIN, OFFICE)

    @property
    def cache_scope(self) -> str:
        """A key part naming who may read a cached value: ``all`` for every sees-all kind, else the teacher."""
        return "all" if self.sees_all else f"teacher-{self.user_id}"


class _Unset:
    """No rls_scope block is active: the fallback applies."""


_UNSET = _Unset()
# None inside ``rls_scope(None)``: explicitly no scope, even under a fallback.
_current: ContextVar[RlsScope | _Unset | None] = ContextVar("growthcompass_rls_scope", default=_UNSET)
# Context managers entered with every system scope (the auditing app records the reason).
_system_hooks: list[Callable[[RlsScope], AbstractContextManager[Any]]] = []


def fallback_scope() -> RlsScope | None:
    """``RLS_FALLBACK_CONTEXT`` as a scope: None (fail closed) unless a test suite chose ``system``."""
    kind = getattr(settings, "RLS_FALLBACK_CONTEXT", None)
    if not kind:
        return None
    return RlsScope(kind=str(kind), reason="fallback")


def current_scope() -> RlsScope | None:
    """The scope statements run in now: the active one, else the fallback (None: no rows, no writes)."""
    scope = _current.get()
    if isinstance(scope, _Unset):
        return fallback_scope()
    return scope


def register_system_hook(hook: Callable[[RlsScope], AbstractContextManager[Any]]) -> None:
    """Enter ``hook(scope)`` around every ``rls_system_context`` block (once per hook)."""
    if hook not in _system_hooks:
        _system_hooks.append(hook)


@contextmanager
def rls_scope(scope: RlsScope | None, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[RlsScope | None]:
    """Run the block in ``scope`` (None: no scope at all, even under a fallback)."""
    token = _current.set(scope)
    connection = connections[using]
    try:
        bind_now(connection)
        yield scope
    finally:
        _current.reset(token)
        bind_now(connection)


@contextmanager
def rls_system_context(*, reason: str, using: str = DEFAULT_DB_ALIAS) -> Iterator[RlsScope]:
    """Every row, for maintenance: ``reason`` says why and goes into the audit context."""
    if not reason or not reason.strip():
        raise ValueError("rls_system_context needs a reason")
    scope = RlsScope(kind=SYSTEM, reason=reason)
    with ExitStack() as stack:
        for hook in _system_hooks:
            stack.enter_context(hook(scope))
        stack.enter_context(rls_scope(scope, using=using))
        yield scope


@contextmanager
def rls_context(*, user: Any, using: str = DEFAULT_DB_ALIAS) -> Iterator[RlsScope | None]:
    """Run the block as ``user`` sees the data (``scope_for_user``); an anonymous user sees nothing."""
    with rls_scope(scope_for_user(user), using=using) as scope:
        yield scope


def scope_for_user(user: Any) -> RlsScope | None:
    """Administrators (superusers, ``RLS_ADMINISTRATORS_GROUP``), office staff (``RLS_OFFICE_GROUP``), else teacher.

    Any other authenticated user is scoped as a teacher: the policies show a
    teacher only the courses they teach, so one who teaches none sees nothing.
    Cached on the user object (one group query per request).
    """
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    cached: RlsScope | None = getattr(user, "_gc_rls_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = RlsScope(kind=ADMIN, user_id=int(user.pk))
    else:
        groups = set(user.groups.values_list("name", flat=True))
        if settings.RLS_ADMINISTRATORS_GROUP in groups:
            scope = RlsScope(kind=ADMIN, user_id=int(user.pk))
        elif settings.RLS_OFFICE_GROUP in groups:
            scope = RlsScope(kind=OFFICE, user_id=int(user.pk))
        else:
            scope = RlsScope(kind=TEACHER, user_id=int(user.pk))
    user._gc_rls_scope = scope
    return scope


def shared_cache_allowed() -> bool:
    """Whether reads may go through the shared cache: only in a scope that sees every domain row.

    Every cached value was loaded in such a scope, so it may be handed only to
    one (administrators, office staff and system maintenance see the same
    domain rows). A teacher's reads, and reads with no scope, go to PostgreSQL,
    whose policies filter them, and are never stored: no entry can hand a row
    to a user who may not see it, nor cache a row's absence for everybody.
    """
    scope = current_scope()
    return scope is not None and scope.sees_all


def _kind_value() -> str | None:
    scope = current_scope()
    return scope.kind if scope is not None else None


def _user_value() -> str | None:
    scope = current_scope()
    return str(scope.user_id) if scope is not None and scope.user_id is not None else None


KIND_STATEMENT_SETTING = StatementSetting(KIND_SETTING, _kind_value)
USER_STATEMENT_SETTING = StatementSetting(USER_SETTING, _user_value)
