"""Server-side SVG charts for the staff dashboard: pure functions from numbers to markup.

No database, no request, no network: each function takes plain values and
returns a ``Chart`` -- the SVG, and the same numbers as a table for screen
readers (the page shows it under the chart). Colours are CSS classes that the
dashboard's stylesheet maps to the admin's light and dark theme variables.
Every plotted value is one element carrying ``data-mark``, so a browser test
can count what was drawn.
"""

from __future__ import annotations

from dashboards.charts.bars import stacked_share_bars
from dashboards.charts.heatmap import heat_map
from dashboards.charts.lines import line_chart
from dashboards.charts.svg import Chart, Series

__all__ = ["Chart", "Series", "heat_map", "line_chart", "stacked_share_bars"]
