"""Per app and migration: applied or pending, when, and whether its file still matches."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from growthcompass.command_arguments import database_alias, database_alias_or_refuse, text
from growthcompass.schema.selectors import MISSING_FILE, MODIFIED, OK, UNRECORDED, migration_status_list


class Command(BaseCommand):
    help = (
        "Show every migration of the project apps (--all: of every app): applied or pending, the time it was "
        "applied, and its checksum state (ok, modified, missing file, unrecorded)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app", dest="app_label", type=text(100), help="Only this app.")
        parser.add_argument("--all", action="store_true", help="Include Django's and third-party apps.")
        parser.add_argument(
            "--database", type=database_alias, default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        database_alias_or_refuse(options["database"])
        statuses = migration_status_list(
            using=options["database"], all_apps=options["all"], app_label=options["app_label"]
        )
        if options["app_label"] and not statuses:
            raise CommandError(f"No migrations found for app '{options['app_label']}'.")
        if options["json"]:
            self.stdout.write(json.dumps({"migrations": [status.as_dict() for status in statuses]}, indent=2))
            return
        styles = {
            OK: self.style.SUCCESS,
            MODIFIED: self.style.ERROR,
            MISSING_FILE: self.style.ERROR,
            UNRECORDED: self.style.WARNING,
        }
        width = max((len(status.name) for status in statuses), default=0)
        for app, rows in groupby(statuses, key=lambda status: status.app):
            self.stdout.write(self.style.MIGRATE_LABEL(app))
            for status in rows:
                mark = "[X]" if status.applied else "[ ]"
                when = status.applied_at.strftime("%Y-%m-%d %H:%M:%S %Z") if status.applied_at else "-"
                state = styles.get(status.checksum_state, str)(status.checksum_state)
                self.stdout.write(f" {mark} {status.name:<{width}}  {when:<23}  {state}")
        applied = sum(1 for status in statuses if status.applied)
        bad = sum(1 for status in statuses if status.checksum_state in (MODIFIED, MISSING_FILE, UNRECORDED))
        self.stdout.write(f"{applied} applied, {len(statuses) - applied} pending, {bad} with a checksum problem.")
