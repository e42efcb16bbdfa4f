"""A line chart over labelled points (weeks, dates): one line and one dot per value of each series."""

from __future__ import annotations

from collections.abc import Sequence

from dashboards.charts.svg import Chart, Series, attr, svg_document, text

__all__ = ["line_chart"]

WIDTH = 720
HEIGHT = 260
LEFT = 44
RIGHT = 32
TOP = 30
BOTTOM = 40


def _format(value: float | None, suffix: str) -> str:
    return "—" if value is None else f"{value:.1f}{suffix}"


def line_chart(
    *,
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_min: float,
    y_max: float,
    y_suffix: str = "",
    y_ticks: int = 4,
) -> Chart:
    """Values of each series against ``x_labels``, on a fixed ``y_min``..``y_max`` axis.

    A ``None`` value breaks its line and draws no dot; every other value draws one dot (a mark).
    """
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    count = len(x_labels)
    step = plot_w / max(count - 1, 1)

    def x_at(i: int) -> float:
        return LEFT + (i * step if count > 1 else plot_w / 2)

    def y_at(value: float) -> float:
        clamped = min(max(value, y_min), y_max)
        return TOP + plot_h * (1 - (clamped - y_min) / ((y_max - y_min) or 1))

    body: list[str] = []
    for t in range(y_ticks + 1):
        tick = y_min + (y_max - y_min) * t / y_ticks
        y = y_at(tick)
        body.append(f'<line class="gc-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="gc-label" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}{text(y_suffix)}</text>'
        )
    every = max(1, round(count / 10))  # at most about ten x labels
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == count - 1:
            body.append(
                f'<text class="gc-label" x="{x_at(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                f"{text(label)}</text>"
            )
    legend_x = LEFT
    for line in series:
        body.append(f'<rect class="{attr(line.css_class)} gc-fill" x="{legend_x}" y="8" width="12" height="12"/>')
        body.append(f'<text class="gc-label" x="{legend_x + 16}" y="18">{text(line.label)}</text>')
        legend_x += 28 + 7 * len(line.label)
    marks = 0
    for line in series:
        runs: list[list[str]] = [[]]
        for i, point in enumerate(line.values):
            if point is None:
                runs.append([])
                continue
            runs[-1].append(f"{x_at(i):.1f},{y_at(point):.1f}")
        for run in runs:
            if len(run) > 1:
                body.append(f'<polyline class="{attr(line.css_class)} gc-line" points="{" ".join(run)}"/>')
        for i, value in enumerate(line.values):
            if value is None:
                continue
            body.append(
                f'<circle class="{attr(line.css_class)} gc-fill" data-mark="point" cx="{x_at(i):.1f}" '
                f'cy="{y_at(value):.1f}" r="4"><title>{text(line.label)}, {text(x_labels[i])}: '
                f"{_format(value, y_suffix)}</title></circle>"
            )
            marks += 1
    rows = tuple((label, *(_format(line.values[i], y_suffix) for line in series)) for i, label in enumerate(x_labels))
    return Chart(
        chart_id=chart_id,
        title=title,
        summary=f"{len(series)} series over {count} points; the table gives every value.",
        svg=svg_document(chart_id, title, WIDTH, HEIGHT, body),
        headers=("", *(line.label for line in series)),
        rows=rows,
        marks=marks,
    )
