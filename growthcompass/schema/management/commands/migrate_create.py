"""Create a migration with a given name for one project app."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from growthcompass.command_arguments import text
from growthcompass.schema.exceptions import MigrationRefused
from growthcompass.schema.services import migration_create


class Command(BaseCommand):
    help = (
        "Create a migration named NAME for --app from its model changes (refused when there are none), or an "
        "empty one with --empty for hand-written RunSQL (give it reverse_sql: every migration must be reversible)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", type=text(100), help="Migration name: lower-case letters, digits, underscores.")
        parser.add_argument(
            "--app", dest="app_label", type=text(100), required=True, help="The project app to add it to."
        )
        parser.add_argument("--empty", action="store_true", help="No operations: for a hand-written migration.")
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            paths = migration_create(app_label=options["app_label"], name=options["name"], empty=options["empty"])
        except MigrationRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"created": [str(path) for path in paths]}, indent=2))
            return
        for path in paths:
            self.stdout.write(self.style.SUCCESS(f"Created {path}"))
