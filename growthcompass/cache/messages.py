"""Invalidation messages: what changed, as the triggers' NOTIFY payloads and pub/sub messages say it.

Text form: ``family:1,2,3`` or ``family:*`` (the whole family), parts joined
by ``;``; a lone ``*`` is every family. The triggers send one part per
NOTIFY; the store publishes several in one message.
"""

from __future__ import annotations

from collections.abc import Mapping

from growthcompass.cache.registry import family_names

# family -> ids, or None for the whole family. The family EVERYTHING stands for all of them.
Invalidation = dict[str, frozenset[int] | None]
EVERYTHING = "*"


def parse_message(text: str) -> Invalidation:
    """Parse a payload or message.

    Unknown families and malformed parts are skipped: the format is shared
    with frozen SQL, and a newer trigger must not break an older reader.
    """
    result: Invalidation = {}
    known = family_names()
    for raw_part in text.split(";"):
        part = raw_part.strip()
        if not part:
            continue
        if part == EVERYTHING:
            return {EVERYTHING: None}
        family, sep, ids_text = part.partition(":")
        if not sep or family not in known:
            continue
        if ids_text == "*":
            merge_into(result, {family: None})
            continue
        try:
            ids = frozenset(int(item) for item in ids_text.split(",") if item)
        except ValueError:
            continue
        merge_into(result, {family: ids})
    return result


def format_message(invalidation: Mapping[str, frozenset[int] | None]) -> str:
    if EVERYTHING in invalidation:
        return EVERYTHING
    return ";".join(
        f"{family}:{'*' if ids is None else ','.join(str(i) for i in sorted(ids))}"
        for family, ids in invalidation.items()
    )


def merge_into(target: Invalidation, other: Mapping[str, frozenset[int] | None]) -> Invalidation:
    """Add ``other`` to ``target`` (in place) and return it."""
    if EVERYTHING in target:
        return target
    if EVERYTHING in other:
        target.clear()
        target[EVERYTHING] = None
        return target
    for family, ids in other.items():
        if family in target:
            current = target[family]
            target[family] = None if current is None or ids is None else current | ids
        else:
            target[family] = ids
    return target


def size(invalidation: Mapping[str, frozenset[int] | None]) -> int:
    """How many entries it names (a whole family counts once)."""
    return sum(1 if ids is None else len(ids) for ids in invalidation.values())
