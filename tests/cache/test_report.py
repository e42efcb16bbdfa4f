"""The ``cache_stats`` table, rendered from a statistics dict (no Redis needed)."""

from __future__ import annotations

from typing import Any

from growthcompass.cache.report import COLUMNS, statistics_lines


def _counts(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys((*COLUMNS, "invalidations", "errors"), 0)
    base["hit_rate"] = None
    return {**base, **values}


def _stats(*, connected: bool = True, listeners: list[str] | None = None, skipping: bool = False) -> dict[str, Any]:
    redis: dict[str, Any] = (
        {"connected": True, "ping_ms": 0.25, "used_memory_human": "1.5M", "maxmemory_policy": "noeviction"}
        if connected
        else {"connected": False, "error": "ConnectionError: refused"}
    )
    return {
        "redis": redis,
        "key_prefix": "gc-test:1:",
        "listeners": listeners if listeners is not None else ["host:1"],
        "families": {"student": _counts(reads=10, hits=9, misses=1, hit_rate=0.9)},
        "totals": _counts(reads=10, hits=9, misses=1, hit_rate=0.9),
        "process": {"skipping_redis": skipping, "pending_invalidations": 0},
    }


def test_a_healthy_report_is_plain_and_aligned() -> None:
    lines = list(statistics_lines(_stats()))
    assert all(level == "" for _, level in lines)
    assert lines[0][0] == (
        "Redis: connected, ping 0.25 ms, 1.5M used (maxmemory-policy noeviction); key prefix gc-test:1:"
    )
    assert lines[1][0] == "Invalidation listeners alive: 1 (host:1)"
    header, student, total = (text for text, _ in lines[2:5])
    assert header.split() == ["family", *COLUMNS, "invalidations", "errors"]
    assert student.split()[:6] == ["student", "10", "9", "0", "1", "90.0%"]
    assert total.split()[0] == "total"
    assert len(header) == len(student) == len(total), "columns are aligned"


def test_problems_are_flagged_with_their_level() -> None:
    lines = dict(statistics_lines(_stats(connected=False, listeners=[], skipping=True)))
    assert lines["Redis: NOT connected (ConnectionError: refused)"] == "error"
    assert lines["Invalidation listeners alive: 0 -- raw SQL writes wait for one"] == "warning"
    assert lines["This process: skipping Redis=True, pending invalidations=0"] == "warning"


def test_cached_querysets_are_reported_per_table_apart_from_the_families() -> None:
    stats = _stats()
    stats["tables"] = {
        "students": _counts(reads=4, hits=3, misses=1, hit_rate=0.75, invalidations=2),
        "guardians": _counts(reads=1, misses=1, hit_rate=0.0),
    }
    text = [line for line, _ in statistics_lines(stats)]
    start = text.index("Cached querysets, per table read (a read counts once for each table it read):")
    header, students, guardians = text[start + 1 : start + 4]
    assert header.split() == ["table", *COLUMNS, "invalidations", "errors"]
    assert students.split()[:6] == ["students", "4", "3", "0", "1", "75.0%"]
    assert students.split()[-2:] == ["2", "0"]
    assert guardians.split()[0] == "guardians"
    assert len(header) == len(students) == len(guardians)


def test_no_table_section_without_cached_querysets() -> None:
    assert not any(line.startswith("Cached querysets") for line, _ in statistics_lines(_stats()))
