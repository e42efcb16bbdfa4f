"""Development only: unapply every migration to zero, then apply them all again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from growthcompass.command_arguments import bounded_int, database_alias, database_alias_or_refuse
from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.services import migrations_reset, refuse_in_production


class Command(BaseCommand):
    help = (
        "Development only: unapply every migration of every app (dropping their tables and data), then apply "
        "them all again. Needs --force; refused when DJANGO_ENV=production whatever the flags."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Yes, drop every migrated table and its data.")
        parser.add_argument(
            "--lock-timeout",
            type=bounded_int(0, 3_600_000),
            metavar="MS",
            help="lock_timeout in milliseconds (default 5000).",
        )
        parser.add_argument(
            "--database", type=database_alias, default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database_alias_or_refuse(options["database"])
        try:
            refuse_in_production()
            if not options["force"]:
                raise MigrationRefused(
                    "migrate_reset drops every migrated table and its data; pass --force to confirm."
                )
            unapplied, applied = migrations_reset(
                using=options["database"],
                lock_timeout_ms=options["lock_timeout"],
                stdout=self.stdout,
                verbosity=options["verbosity"],
            )
        except MigrationRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Reset: unapplied {len(unapplied)} migration(s), applied {len(applied)}.")
        )
