"""A heat map of categories: one cell per (row, column), coloured by its state (attendance status)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dashboards.charts.svg import Chart, attr, svg_document, text

__all__ = ["heat_map"]

LABEL_W = 170
CELL = 16
GAP = 2
TOP = 64  # legend, then the column labels


def heat_map(
    *,
    chart_id: str,
    title: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    cells: Sequence[Sequence[str | None]],
    states: Mapping[str, str],
    missing_label: str = "no record",
) -> Chart:
    """``cells[r][c]`` is a key of ``states`` (its legend label) or ``None`` (``missing_label``).

    Every cell is drawn and is a mark, recorded or not: the grid's shape is the data.
    The CSS class of a cell is ``gc-state-<state>`` (``gc-state-none`` when missing).
    """
    width = max(LABEL_W + len(column_labels) * (CELL + GAP) + 8, 360)
    height = TOP + len(row_labels) * (CELL + GAP) + 8
    body: list[str] = []
    x = LABEL_W
    for key, legend in [*states.items(), ("none", missing_label)]:
        body.append(f'<rect class="gc-state-{attr(key)}" x="{x}" y="6" width="12" height="12"/>')
        body.append(f'<text class="gc-label" x="{x + 16}" y="16">{text(legend)}</text>')
        x += 26 + 7 * len(legend)
    every = max(1, round(len(column_labels) / 12))
    for c, label in enumerate(column_labels):
        if c % every == 0:
            cx = LABEL_W + c * (CELL + GAP) + CELL / 2
            body.append(
                f'<text class="gc-label gc-small" x="{cx:.1f}" y="{TOP - 8}" text-anchor="start" '
                f'transform="rotate(-40 {cx:.1f} {TOP - 8})">{text(label)}</text>'
            )
    marks = 0
    rows: list[tuple[str, ...]] = []
    for r, row_label in enumerate(row_labels):
        y = TOP + r * (CELL + GAP)
        body.append(f'<text class="gc-label" x="{LABEL_W - 8}" y="{y + 12}" text-anchor="end">{text(row_label)}</text>')
        for c, state in enumerate(cells[r]):
            label = missing_label if state is None else states.get(state, state)
            body.append(
                f'<rect class="gc-state-{attr(state or "none")}" data-mark="cell" x="{LABEL_W + c * (CELL + GAP)}" '
                f'y="{y}" width="{CELL}" height="{CELL}"><title>{text(row_label)}, {text(column_labels[c])}: '
                f"{text(label)}</title></rect>"
            )
            marks += 1
        rows.append((row_label, *(missing_label if s is None else states.get(s, s) for s in cells[r])))
    return Chart(
        chart_id=chart_id,
        title=title,
        summary=f"{len(row_labels)} rows by {len(column_labels)} columns; the table gives every cell.",
        svg=svg_document(chart_id, title, width, height, body),
        headers=("", *column_labels),
        rows=tuple(rows),
        marks=marks,
    )
