"""``migrate`` as the owner of the tables (``MIGRATION_DATABASE_URL``), not as the application role.

The application role owns no table, so it can neither create nor alter one;
Django's own ``migrate`` runs unchanged inside ``as_owner`` (a no-op without
``MIGRATION_DATABASE_URL``). The application role itself is created first
when missing and the owner may (development and CI).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate

from growthcompass.db.roles import as_owner, ensure_owner_created_application_role


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        ensure_owner_created_application_role(database)
        with as_owner(database):
            super().handle(*args, **options)
