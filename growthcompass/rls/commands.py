"""The row-level-security scope of a management command: declared, never the fallback.

A command that reads or maintains domain data wraps its work::

    def add_arguments(self, parser):
        add_scope_arguments(parser)

    def handle(self, **options):
        with command_scope(options, command="refresh_views"):
            ...

Without ``--as-user`` the command runs in a system scope whose reason names
it (``manage.py refresh_views``), recorded in the audit context; with it, the
command sees and may change what that user may (a teacher's ``--as-user``
cannot reset the demo data).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from growthcompass.command_arguments import text
from growthcompass.rls.context import RlsScope, rls_context, rls_system_context


def add_scope_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--as-user",
        type=text(150),
        metavar="ID|USERNAME",
        help="Act as this user: see and change only what they may, and be recorded as the author of the changes.",
    )


def resolve_user(value: str) -> AbstractBaseUser:
    """The user named by an id or a username; ``CommandError`` when there is none."""
    model = get_user_model()
    value = value.strip()
    user = None
    # auth_user has no row-level security; the lookup needs no scope.
    if value.isdigit():
        user = model._default_manager.filter(pk=int(value)).first()
    if user is None:
        user = model._default_manager.filter(**{model.USERNAME_FIELD: value}).first()
    if user is None:
        raise CommandError(f"No user with id or username {value!r}.")
    return user


@contextmanager
def command_scope(options: Mapping[str, Any], *, command: str) -> Iterator[RlsScope | None]:
    """``--as-user``'s scope when given, else a system scope for ``manage.py <command>``."""
    value = options.get("as_user")
    try:
        if value:
            with rls_context(user=resolve_user(str(value))) as scope:
                yield scope
            return
        with rls_system_context(reason=f"manage.py {command}") as scope:
            yield scope
    except (DatabaseError, psycopg.Error) as exc:
        # A refusal by a policy (or a scope-checking function) is bad input, not a crash: one line.
        # Django wraps psycopg's error; code on the raw connection (the demo loader) raises it as is.
        refusal = exc if isinstance(exc, psycopg.errors.InsufficientPrivilege) else exc.__cause__
        if not isinstance(refusal, psycopg.errors.InsufficientPrivilege):
            raise
        who = f"--as-user {value}" if value else "the system scope"
        first_line = str(refusal).strip().splitlines()[0]
        raise CommandError(f"{command}: refused for {who} by row-level security ({first_line}).") from exc
