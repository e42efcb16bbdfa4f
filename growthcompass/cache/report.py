"""``cache_stats`` as text: the statistics of ``CacheStore.statistics()`` rendered as a table.

Pure functions from the statistics dict to lines, each with the level a
terminal may colour it with, so the command stays a shell and the rendering
is tested without Redis.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

__all__ = ["Level", "statistics_lines"]

Level = Literal["", "warning", "error"]

COLUMNS = ("reads", "hits", "local_hits", "misses", "hit_rate", "stores", "refused", "bypassed", "waits")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """The first column left-aligned, the numbers right-aligned, every column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        yield "  ".join(
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=True))
        )


def _family_row(name: str, counts: dict[str, Any]) -> tuple[str, ...]:
    return (name, *(_cell(counts[c]) for c in COLUMNS), _cell(counts["invalidations"]), _cell(counts["errors"]))


def statistics_lines(stats: dict[str, Any]) -> Iterator[tuple[str, Level]]:
    """The report's lines, each with its level ("" for plain)."""
    redis_state = stats["redis"]
    if redis_state["connected"]:
        yield (
            f"Redis: connected, ping {redis_state['ping_ms']:.2f} ms, {redis_state['used_memory_human']} used "
            f"(maxmemory-policy {redis_state['maxmemory_policy']}); key prefix {stats['key_prefix']}",
            "",
        )
    else:
        yield f"Redis: NOT connected ({redis_state.get('error', '')})", "error"
    listeners = stats["listeners"]
    line = f"Invalidation listeners alive: {len(listeners)}" + (f" ({', '.join(listeners)})" if listeners else "")
    yield (line, "") if listeners else (line + " -- raw SQL writes wait for one", "warning")
    rows = [_family_row(name, counts) for name, counts in stats["families"].items()]
    rows.append(_family_row("total", stats["totals"]))
    for table_line in _table(("family", *COLUMNS, "invalidations", "errors"), rows):
        yield table_line, ""
    tables = stats.get("tables") or {}
    if tables:
        yield "Cached querysets, per table read (a read counts once for each table it read):", ""
        table_rows = [_family_row(name, counts) for name, counts in tables.items()]
        for table_line in _table(("table", *COLUMNS, "invalidations", "errors"), table_rows):
            yield table_line, ""
    process = stats["process"]
    if process["skipping_redis"] or process["pending_invalidations"]:
        yield (
            f"This process: skipping Redis={process['skipping_redis']}, "
            f"pending invalidations={process['pending_invalidations']}",
            "warning",
        )
