"""``flush`` as the owner of the tables: it truncates, which the application role may not.

TRUNCATE is not subject to row-level security, so the application role is
never granted it; the test suite's transactional tests flush through here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlush

from growthcompass.db.roles import as_owner


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        with as_owner(options["database"]):
            super().handle(**options)
