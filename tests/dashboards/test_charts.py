"""The SVG charts are pure: numbers in, markup and a table out -- no database, no request."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from dashboards.charts import Series, heat_map, line_chart, stacked_share_bars


def _marks(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed
    return [element for element in root.iter() if "data-mark" in element.attrib]


def test_stacked_bars_draw_one_mark_per_nonzero_band_and_list_every_count() -> None:
    chart = stacked_share_bars(
        chart_id="g",
        title="Grades",
        categories=["Grade 6", "Grade 7"],
        bands=[Series("low", "gc-band-0", [0, 3]), Series("high", "gc-band-4", [4, 1])],
    )
    assert chart.marks == 3 == len(_marks(chart.svg))
    assert chart.headers == ("", "low", "high", "total")
    assert chart.rows == (("Grade 6", "0", "4", "4"), ("Grade 7", "3", "1", "4"))
    widths = [float(m.attrib["width"]) for m in _marks(chart.svg)]
    assert widths[0] == widths[1] + widths[2]  # a whole bar, then three quarters and a quarter


def test_a_line_breaks_at_a_missing_value_and_draws_no_dot_there() -> None:
    chart = line_chart(
        chart_id="w",
        title="Weekly",
        x_labels=["a", "b", "c", "d"],
        series=[Series("rate", "gc-series-0", [90.0, None, 80.0, 70.0])],
        y_min=0,
        y_max=100,
        y_suffix="%",
    )
    assert chart.marks == 3 == len(_marks(chart.svg))
    polylines = re.findall(r'<polyline [^>]*points="([^"]+)"', chart.svg)
    assert [len(points.split()) for points in polylines] == [2]  # c-d joined; a stands alone
    assert chart.rows == (("a", "90.0%"), ("b", "—"), ("c", "80.0%"), ("d", "70.0%"))


def test_higher_values_are_drawn_higher() -> None:
    chart = line_chart(
        chart_id="w", title="t", x_labels=["a", "b"], series=[Series("s", "c", [1.0, 5.0])], y_min=1, y_max=5
    )
    low, high = (float(m.attrib["cy"]) for m in _marks(chart.svg))
    assert high < low  # SVG's y grows downwards


def test_heat_map_draws_every_cell_recorded_or_not() -> None:
    chart = heat_map(
        chart_id="h",
        title="Grid",
        row_labels=["Ann", "Bo"],
        column_labels=["1 Sep", "8 Sep", "15 Sep"],
        cells=[["present", None, "absent"], ["late", "late", None]],
        states={"present": "Present", "late": "Late", "absent": "Absent"},
    )
    marks = _marks(chart.svg)
    assert chart.marks == 6 == len(marks)
    assert [m.attrib["class"] for m in marks[:3]] == ["gc-state-present", "gc-state-none", "gc-state-absent"]
    assert chart.rows[1] == ("Bo", "Late", "Late", "no record")


def test_labels_are_escaped_in_the_svg() -> None:
    chart = stacked_share_bars(
        chart_id="x", title="<b>t</b>", categories=["<script>alert(1)</script>"], bands=[Series("b&c", "k", [1])]
    )
    assert "<script>" not in chart.svg and "&lt;script&gt;" in chart.svg
    assert "b&amp;c" in chart.svg
    assert chart.marks == 1 == len(_marks(chart.svg))


def test_an_empty_chart_has_no_marks() -> None:
    chart = line_chart(chart_id="e", title="t", x_labels=[], series=[Series("s", "c", [])], y_min=0, y_max=1)
    assert chart.is_empty and _marks(chart.svg) == []
