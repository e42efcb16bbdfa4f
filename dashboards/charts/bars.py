"""Horizontal 100 % stacked bars: how each category (a grade) splits across bands."""

from __future__ import annotations

from collections.abc import Sequence

from dashboards.charts.svg import Chart, Series, attr, svg_document, text

__all__ = ["stacked_share_bars"]

WIDTH = 720
LABEL_W = 110
TOTAL_W = 70
BAR_H = 22
GAP = 8
TOP = 34  # the legend's row


def stacked_share_bars(
    *, chart_id: str, title: str, categories: Sequence[str], bands: Sequence[Series], unit: str = "students"
) -> Chart:
    """One bar per category, split into ``bands`` by share of the category's total.

    ``bands[i].values[j]`` is the count of category ``j`` in band ``i``. A band
    with a zero count draws nothing (and counts no mark).
    """
    plot_w = WIDTH - LABEL_W - TOTAL_W
    height = TOP + len(categories) * (BAR_H + GAP) + GAP
    body: list[str] = []
    x = LABEL_W
    for band in bands:  # the legend
        body.append(f'<rect class="{attr(band.css_class)}" x="{x}" y="8" width="12" height="12"/>')
        body.append(f'<text class="gc-label" x="{x + 16}" y="18">{text(band.label)}</text>')
        x += 22 + 7 * len(band.label)
    marks = 0
    rows: list[tuple[str, ...]] = []
    for j, category in enumerate(categories):
        counts = [int(band.values[j] or 0) for band in bands]
        total = sum(counts)
        y = TOP + j * (BAR_H + GAP)
        body.append(f'<text class="gc-label" x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end">{text(category)}</text>')
        left = float(LABEL_W)
        for band, count in zip(bands, counts, strict=True):
            if count == 0 or total == 0:
                continue
            width = plot_w * count / total
            share = 100 * count / total
            body.append(
                f'<rect class="{attr(band.css_class)}" data-mark="bar" x="{left:.1f}" y="{y}" '
                f'width="{width:.1f}" height="{BAR_H}"><title>{text(category)}, {text(band.label)}: '
                f"{count} {text(unit)} ({share:.0f}%)</title></rect>"
            )
            left += width
            marks += 1
        body.append(f'<text class="gc-label" x="{WIDTH - TOTAL_W + 8}" y="{y + 15}">{total}</text>')
        rows.append((category, *(str(c) for c in counts), str(total)))
    summary = f"Share of {unit} in each attendance band, one bar per row; the table gives the counts."
    return Chart(
        chart_id=chart_id,
        title=title,
        summary=summary,
        svg=svg_document(chart_id, title, WIDTH, height, body),
        headers=("", *(band.label for band in bands), "total"),
        rows=tuple(rows),
        marks=marks,
    )
