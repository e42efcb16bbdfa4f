"""Clear cache entries: a student's, a course's, those matching a pattern, or all of them."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from growthcompass.cache import families
from growthcompass.cache.messages import Invalidation, merge_into
from growthcompass.cache.store import get_store


class Command(BaseCommand):
    help = (
        "Clear cache entries. --student ID and --course ID invalidate every entry of that student or course "
        "(as a write would, so a read racing the clear cannot put the old value back); --pattern GLOB deletes "
        "the keys under the cache prefix matching GLOB (e.g. 'student:1*'); --all invalidates every entry of "
        "every family and asks for confirmation unless --yes. Statistics are kept (cache_stats --reset)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--student", type=int, action="append", default=[], metavar="ID", help="A student id.")
        parser.add_argument("--course", type=int, action="append", default=[], metavar="ID", help="A course id.")
        parser.add_argument("--pattern", metavar="GLOB", help="A Redis glob, matched after the key prefix.")
        parser.add_argument("--all", action="store_true", help="Every entry of every family.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation (--all).")

    def handle(self, *args: Any, **options: Any) -> None:
        students: list[int] = options["student"]
        courses: list[int] = options["course"]
        pattern: str | None = options["pattern"]
        everything: bool = options["all"]
        chosen = sum(bool(x) for x in (students or courses, pattern, everything))
        if chosen == 0:
            raise CommandError("Say what to clear: --student ID, --course ID, --pattern GLOB or --all.")
        if chosen > 1:
            raise CommandError("--student/--course, --pattern and --all cannot be combined; run them separately.")
        if pattern is not None and (not pattern.strip() or pattern.startswith("~")):
            raise CommandError("--pattern must be a non-empty glob, and the '~' bookkeeping keys are not for clearing.")
        store = get_store()
        try:
            if everything:
                if not options["yes"] and not self._confirm(store.prefix, options.get("stdin") or sys.stdin):
                    raise CommandError("Nothing cleared (not confirmed; --yes skips the question).")
                deleted = store.flush_all_or_raise()
                self.stdout.write(f"Invalidated every cache entry: {deleted} deleted.")
            elif pattern is not None:
                deleted = store.delete_pattern(pattern)
                self.stdout.write(f"Deleted {deleted} key(s) matching {store.prefix}{pattern}.")
            else:
                invalidation: Invalidation = {}
                for student_id in students:
                    merge_into(invalidation, {f: frozenset({student_id}) for f in families.STUDENT_FAMILIES})
                for course_id in courses:
                    merge_into(invalidation, {f: frozenset({course_id}) for f in families.COURSE_FAMILIES})
                if courses:
                    merge_into(invalidation, {families.COURSES_ACTIVE: frozenset({families.COURSES_ACTIVE_ID})})
                deleted = store.invalidate_or_raise(invalidation)
                what = ", ".join([*(f"student {i}" for i in students), *(f"course {i}" for i in courses)])
                self.stdout.write(f"Invalidated the entries of {what}: {deleted} deleted.")
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable: {exc}") from exc

    def _confirm(self, prefix: str, stdin: TextIO) -> bool:
        self.stdout.write(f"Invalidate every cache entry under {prefix}? Type 'yes' to continue: ", ending="")
        self.stdout.flush()
        answer = stdin.readline()
        return answer.strip().lower() in ("yes", "y")
