"""Row-level security: PostgreSQL decides which rows each user sees (docs/row-level-security.md).

``rls_context(user=...)`` / ``rls_system_context(reason=...)`` choose the
scope; each app declares its policies in ``<app>/rls.py`` (``Policy``).
"""

from __future__ import annotations

from growthcompass.rls.context import (
    RlsScope,
    current_scope,
    rls_context,
    rls_scope,
    rls_system_context,
    scope_for_user,
)
from growthcompass.rls.policies import Policy

__all__ = [
    "Policy",
    "RlsScope",
    "current_scope",
    "rls_context",
    "rls_scope",
    "rls_system_context",
    "scope_for_user",
]
