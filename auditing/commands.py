"""``--as-user`` for management commands that change data.

A data-changing command adds the option and wraps its work::

    def add_arguments(self, parser):
        add_as_user_argument(parser)

    def handle(self, **options):
        with audit_context_from_options(options, command="seed_demo"):
            ...

Without ``--as-user`` the changes still carry the command's name in the audit
context, with a NULL user, and run in a system scope of row-level security.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandParser

from auditing.context import AuditContext, audit_context
from growthcompass.rls.commands import add_scope_arguments, command_scope, resolve_user

__all__ = ["add_as_user_argument", "audit_context_from_options", "resolve_user"]


def add_as_user_argument(parser: CommandParser) -> None:
    add_scope_arguments(parser)


@contextmanager
def audit_context_from_options(
    options: Mapping[str, Any], *, command: str, reason: str | None = None
) -> Iterator[AuditContext]:
    """``audit_context`` for a command run: ``--as-user`` (if given), the command name and ``reason``.

    It declares the command's row-level-security scope too (``command_scope``):
    ``--as-user``'s, else a system scope.
    """
    value = options.get("as_user")
    user = resolve_user(str(value)) if value else None
    with (
        audit_context(user=user.pk if user is not None else None, command=command, reason=reason) as context,
        command_scope(options, command=command),
    ):
        yield context
