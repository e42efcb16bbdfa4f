"""Clear cache entries: a student's, a course's (any entity the registered families are keyed by), a pattern, or all."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from growthcompass.cache import get_store
from growthcompass.cache.generations import TableGenerations
from growthcompass.cache.messages import Invalidation, merge_into
from growthcompass.cache.registry import clear_options
from growthcompass.cache.table_bumps import bump_every_table
from growthcompass.command_arguments import bounded_int, text


class Command(BaseCommand):
    help = (
        "Clear cache entries. --student ID and --course ID (one option per entity the cache families are keyed "
        "by) invalidate every entry of that student or course "
        "(as a write would, so a read racing the clear cannot put the old value back); --pattern GLOB deletes "
        "the keys under the cache prefix matching GLOB (e.g. 'student:1*'); --all invalidates every entry of "
        "every family and asks for confirmation unless --yes. Statistics are kept (cache_stats --reset)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        for entity, entries in clear_options().items():
            parser.add_argument(
                f"--{entity.replace('_', '-')}",
                dest=f"entity_{entity}",
                type=bounded_int(1, 2**63 - 1),
                action="append",
                default=[],
                metavar="ID",
                help=f"A {entity} id: clears its entries of {', '.join(name for name, _ in entries)}.",
            )
        parser.add_argument(
            "--pattern", type=text(500), metavar="GLOB", help="A Redis glob, matched after the key prefix."
        )
        parser.add_argument("--all", action="store_true", help="Every entry of every family.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation (--all).")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen_ids: dict[str, list[int]] = {
            entity: options[f"entity_{entity}"] for entity in clear_options() if options.get(f"entity_{entity}")
        }
        pattern: str | None = options["pattern"]
        everything: bool = options["all"]
        entity_flags = ", ".join(f"--{entity.replace('_', '-')} ID" for entity in clear_options())
        chosen = sum(bool(x) for x in (chosen_ids, pattern, everything))
        if chosen == 0:
            raise CommandError(f"Say what to clear: {entity_flags}, --pattern GLOB or --all.")
        if chosen > 1:
            raise CommandError(f"{entity_flags}, --pattern and --all cannot be combined; run them separately.")
        if pattern is not None and (not pattern.strip() or pattern.startswith("~")):
            raise CommandError("--pattern must be a non-empty glob, and the '~' bookkeeping keys are not for clearing.")
        store = get_store()
        try:
            if everything:
                if not options["yes"] and not self._confirm(store.prefix, options.get("stdin") or sys.stdin):
                    raise CommandError("Nothing cleared (not confirmed; --yes skips the question).")
                deleted = store.flush_all_or_raise()
                # Cached querysets are keyed by SQL, not by family: moving every table's generation
                # deletes them (and refuses any fill that began before).
                bump_every_table(TableGenerations(store.client, store.prefix, store.keys.queryset_tag))
                self.stdout.write(f"Invalidated every cache entry: {deleted} deleted, and every cached queryset.")
            elif pattern is not None:
                deleted = store.delete_pattern(pattern)
                self.stdout.write(f"Deleted {deleted} key(s) matching {store.prefix}{pattern}.")
            else:
                invalidation: Invalidation = {}
                entries_of = clear_options()
                for entity, ids in chosen_ids.items():
                    for ident in ids:
                        for family, single_entry_id in entries_of[entity]:
                            entry = ident if single_entry_id is None else single_entry_id
                            merge_into(invalidation, {family: frozenset({entry})})
                deleted = store.invalidate_or_raise(invalidation)
                what = ", ".join(f"{entity} {ident}" for entity, ids in chosen_ids.items() for ident in ids)
                self.stdout.write(f"Invalidated the entries of {what}: {deleted} deleted.")
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable: {exc}") from exc

    def _confirm(self, prefix: str, stdin: TextIO) -> bool:
        self.stdout.write(f"Invalidate every cache entry under {prefix}? Type 'yes' to continue: ", ending="")
        self.stdout.flush()
        answer = stdin.readline()
        return answer.strip().lower() == "yes"
