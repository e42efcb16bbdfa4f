"""Load the declared cached querysets' warm parameter sets into the cache."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from growthcompass.cache.querysets import UncacheableQuery
from growthcompass.cache.warming import UnknownQuery, warm
from growthcompass.command_arguments import text
from growthcompass.rls import rls_system_context


class Command(BaseCommand):
    help = (
        "Warm the cached querysets the apps declared (growthcompass.cache.declare(..., warm=[...])): each listed "
        "parameter set is read through the cache, loaded and stored if missing, left alone if cached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--query", action="append", default=[], type=text(200), help="A declared query's name (repeatable)."
        )
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Reads and maintains domain data: a declared system scope, never the fallback.
        with rls_system_context(reason="manage.py cache_warm"):
            self._handle(**options)

    def _handle(self, **options: Any) -> None:
        try:
            results = warm(options["query"])
        except (UnknownQuery, UncacheableQuery) as exc:
            raise CommandError(str(exc.args[0])) from exc
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps([asdict(r) for r in results], indent=2, sort_keys=True, default=str))
            return
        for result in results:
            params = ", ".join(f"{k}={v!r}" for k, v in sorted(result.params.items()))
            self.stdout.write(f"{result.query}({params}): {result.status}")
        stored = sum(r.status == "stored" for r in results)
        rest = len(results) - stored
        self.stdout.write(f"{len(results)} parameter sets: {stored} stored, {rest} not stored or cached")

