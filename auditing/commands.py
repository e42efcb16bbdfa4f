"""``--as-user`` for management commands that change data.

A data-changing command adds the option and wraps its work::

    def add_arguments(self, parser):
        add_as_user_argument(parser)

    def handle(self, **options):
        with audit_context_from_options(options, command="seed_demo"):
            ...

Without ``--as-user`` the changes still carry the command's name in the audit
context, with a NULL user.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import CommandError, CommandParser

from auditing.context import AuditContext, audit_context
from growthcompass.command_arguments import text


def add_as_user_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--as-user",
        type=text(150),
        metavar="ID|USERNAME",
        help="Record this user as the author of the changes in the audit log.",
    )


def resolve_user(value: str) -> AbstractBaseUser:
    """The user named by an id or a username; ``CommandError`` when there is none."""
    model = get_user_model()
    value = value.strip()
    user = None
    if value.isdigit():
        user = model._default_manager.filter(pk=int(value)).first()
    if user is None:
        user = model._default_manager.filter(**{model.USERNAME_FIELD: value}).first()
    if user is None:
        raise CommandError(f"No user with id or username {value!r}.")
    return user


@contextmanager
def audit_context_from_options(
    options: Mapping[str, Any], *, command: str, reason: str | None = None
) -> Iterator[AuditContext]:
    """``audit_context`` for a command run: ``--as-user`` (if given), the command name and ``reason``."""
    value = options.get("as_user")
    user = resolve_user(str(value)) if value else None
    with audit_context(user=user.pk if user is not None else None, command=command, reason=reason) as context:
        yield context
