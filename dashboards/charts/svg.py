"""What every chart shares: the ``Chart`` value, a series, and escaping for SVG text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

__all__ = ["Chart", "Series", "attr", "svg_document", "text"]


@dataclass(frozen=True)
class Series:
    """One line or band: its legend label, CSS class (colour) and values (``None`` = nothing to plot)."""

    label: str
    css_class: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Chart:
    """A rendered chart and its numbers as a table."""

    chart_id: str
    title: str
    summary: str  # one sentence saying what the chart shows, read out before the table
    svg: SafeString
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: int  # elements drawn with data-mark: one per plotted value

    @property
    def is_empty(self) -> bool:
        return self.marks == 0


def text(value: object) -> str:
    """``value`` escaped for SVG/HTML text content."""
    return escape(str(value), quote=False)


def attr(value: object) -> str:
    """``value`` escaped for a double-quoted attribute."""
    return escape(str(value), quote=True)


def svg_document(chart_id: str, title: str, width: int, height: int, body: Sequence[str]) -> SafeString:
    """An ``<svg>`` sized by its viewBox (it scales to its container), titled for assistive technology.

    Never drawn wider than its natural size, so its text stays the size it was set in.
    ``aria-hidden`` is not set: the SVG is an image with a name, and the table
    that follows it carries the numbers.
    """
    title_id = f"{chart_id}-title"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gc-chart" id="{attr(chart_id)}-svg" '
        f'viewBox="0 0 {width} {height}" style="max-width: {width}px" role="img" aria-labelledby="{attr(title_id)}" '
        f'preserveAspectRatio="xMinYMin meet"><title id="{attr(title_id)}">{text(title)}</title>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every value above is escaped
