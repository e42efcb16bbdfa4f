"""The benchmark runner's pure parts: percentiles, the table, the docs/performance.md section, comparing two runs.

No database and no timing assertions: the benchmarks themselves run under
``make bench``; these check the text they produce and the files they touch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import benchmarks.__main__ as runner
from benchmarks import report
from benchmarks.__main__ import main as runner_main
from benchmarks.__main__ import selected
from benchmarks.dataset import bench_database_url, machine_description
from benchmarks.timing import Row, Sample, paired, row, summarise


def _result(rows: list[Row], **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "scale": "small",
        "students": 1000,
        "dataset": {"students": 1000, "counts": {"students": 1000, "attendances": 95291}, "seconds": 3.7},
        "machine": "Linux x86_64, 2 CPUs (Test CPU), 23 GB RAM, Python 3.11.7, PostgreSQL 15.20, Redis 7.0.15",
        "finished_at": "2026-01-02 03:04 UTC",
        "duration_s": 600.0,
        "rows": [r.as_dict() for r in rows],
    }
    result.update(extra)
    return result


def _sample(p50: float, p99: float | None = None) -> Sample:
    return Sample(p50_ms=p50, p99_ms=p99 if p99 is not None else p50, mean_ms=p50, runs=1)


def test_summarise_takes_the_median_and_the_nearest_rank_p99() -> None:
    sample = summarise([float(v) for v in range(1, 101)])
    assert sample.p50_ms == 50.5
    assert sample.p99_ms == 99.0
    assert sample.runs == 100
    assert summarise([3.0]).p99_ms == 3.0
    with pytest.raises(ValueError):
        summarise([])


def test_row_judges_a_ratio_or_a_speedup() -> None:
    slower = row("b", "op", _sample(12.0), baseline_sample=_sample(10.0), max_ratio=1.25)
    assert slower.ratio == pytest.approx(1.2) and slower.met is True
    assert row("b", "op", _sample(13.0), baseline_sample=_sample(10.0), max_ratio=1.25).met is False
    faster = row("b", "op", _sample(1.0), baseline_sample=_sample(150.0), min_speedup=100.0)
    assert faster.met is True
    assert row("b", "op", _sample(5.0)).met is None


def test_paired_calls_both_sides_alike() -> None:
    calls = {"candidate": 0, "baseline": 0}

    def candidate() -> None:
        calls["candidate"] += 1

    def baseline() -> None:
        calls["baseline"] += 1

    first, second = paired(candidate, baseline, runs=7, warmup=2)
    assert calls == {"candidate": 9, "baseline": 9}
    assert first.runs == second.runs == 7


def test_row_round_trips_through_a_results_file_and_tolerates_old_ones() -> None:
    original = row("admin", "students page", _sample(40.0, 90.0), baseline="ORM", baseline_sample=_sample(3.0))
    original = Row(**{**original.as_dict(), "note": "7 queries"})
    assert Row.from_dict(json.loads(json.dumps(original.as_dict()))) == original
    old_style = {k: v for k, v in original.as_dict().items() if k != "note"} | {"extra": 1}
    assert Row.from_dict(old_style).note == ""


def test_table_formats_figures_and_keeps_pipes_inside_cells() -> None:
    rows = [
        row("q", "a | b", _sample(0.12345, 1234.5), baseline="ORM", baseline_sample=_sample(0.1), max_ratio=1.2),
        Row("q", "informational", 12.34, 15.0, "", None, None, "informational", None, note="7 queries"),
    ]
    lines = report.format_table(rows).splitlines()
    assert lines[0].startswith("| benchmark | operation | p50 ms | p99 ms | baseline (p50 ms) | ratio |")
    assert len(lines) == 4
    assert "| q | a \\| b | 0.123 | 1,234 | ORM (0.100) | 1.23 | " in lines[2]
    assert lines[2].endswith("| **no** |")
    assert "| informational (7 queries) | 12.3 | 15.0 |" in lines[3]
    assert all(len(re.split(r"(?<!\\)\|", line)) == len(report.TABLE_HEADER) + 2 for line in lines)


REPO_ROOT = Path(__file__).resolve().parents[2]


def test_performance_section_names_the_scale_dataset_date_and_machine() -> None:
    met = row("b", "op", _sample(1.0), baseline_sample=_sample(1.0), max_ratio=2.0)
    section = report.performance_section(_result([met]), "make bench")
    assert section.startswith(report.SECTION_START) and section.endswith(report.SECTION_END)
    assert "scale `small`" in section
    assert "1,000 students, 95,291 attendance rows" in section
    assert "2026-01-02 03:04 UTC" in section
    assert "2 CPUs (Test CPU)" in section and "PostgreSQL 15.20" in section and "Redis 7.0.15" in section
    assert "1 of 1 targets met" in section


def _doc_with_section(path: Path, before: str, after: str) -> None:
    path.write_text(before + report.SECTION_START + "\nold table\n" + report.SECTION_END + after, encoding="utf-8")


def test_update_doc_rewrites_only_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    before = "# Performance\n\nHow to run.\n\n"
    after = "\n\n## Reading the figures\n\nUntouched, even <!-- other --> comments.\n"
    _doc_with_section(doc, before, after)
    report.update_doc(doc, _result([]), "make bench")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith(before) and text.endswith(after)
    assert "old table" not in text and "Generated by `make bench`" in text
    report.update_doc(doc, _result([]), "make bench")  # idempotent: markers survive a rewrite
    assert doc.read_text(encoding="utf-8") == text


def test_update_doc_names_the_file_whose_markers_are_wrong(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("no markers at all\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"performance\.md"):
        report.update_doc(doc, _result([]), "make bench")
    assert doc.read_text(encoding="utf-8") == "no markers at all\n"


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all",
        f"{report.SECTION_START} only the start",
        f"{report.SECTION_END} before {report.SECTION_START}",
        f"{report.SECTION_START}{report.SECTION_END}{report.SECTION_START}{report.SECTION_END}",
    ],
)
def test_replace_section_refuses_missing_or_misordered_markers(text: str) -> None:
    with pytest.raises(ValueError):
        report.replace_section(text, "new")


def test_the_runner_updates_docs_performance_md() -> None:
    assert runner.PERFORMANCE_DOC == REPO_ROOT / "docs" / "performance.md"


def test_the_performance_doc_has_the_one_generated_section() -> None:
    text = runner.PERFORMANCE_DOC.read_text(encoding="utf-8")
    assert report.replace_section(text, "X").count("X") >= 1
    assert text.startswith("# Performance")


def test_the_readme_no_longer_holds_the_generated_section() -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert report.SECTION_START not in text and report.SECTION_END not in text
    assert "docs/performance.md" in text


def test_runner_docs_from_rewrites_the_doc_without_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "performance.md"
    _doc_with_section(doc, "# Performance\n\n", "\n")
    monkeypatch.setattr(runner, "PERFORMANCE_DOC", doc)
    results = tmp_path / "run.json"
    results.write_text(json.dumps(_result([row("q", "page", _sample(10.0))])))
    assert runner_main(["--docs-from", str(results)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert "old table" not in text and "| q | page | 10.0 | 10.0 |" in text


def test_the_makefile_bench_target_updates_the_docs() -> None:
    bench_recipe = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").split("\nbench:", 1)[1].split("\n\n", 1)[0]
    assert "-m benchmarks" in bench_recipe and "--update-docs" in bench_recipe


def test_the_runner_refuses_the_old_update_readme_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        runner_main(["--update-readme"])
    assert "unrecognized arguments: --update-readme" in capsys.readouterr().err


def test_compare_matches_rows_by_operation_and_reports_changes(tmp_path: Path) -> None:
    old = _result(
        [
            row("q", "page", _sample(10.0), baseline_sample=_sample(10.0), max_ratio=1.25),
            row("q", "dropped", _sample(1.0)),
        ]
    )
    new = _result(
        [
            row("q", "page", _sample(15.0), baseline_sample=_sample(10.0), max_ratio=1.25),
            row("q", "added", _sample(2.0)),
        ],
        finished_at="2026-02-03 04:05 UTC",
    )
    text = report.compare(old, new)
    assert "old: 2026-01-02 03:04 UTC (small); new: 2026-02-03 04:05 UTC (small)" in text
    assert "| q | page | 10.0 | 15.0 | +50.0% | 10.0 | 15.0 | 1.00 | 1.50 | no (was yes) |" in text
    assert "| q | added |  | 2.00 | new |" in text
    assert "| q | dropped | 1.00 |  | gone |" in text

    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    old_file.write_text(json.dumps(old))
    new_file.write_text(json.dumps(new))
    assert report.compare_files(old_file, new_file) == text


def test_runner_compare_needs_no_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "run.json"
    results.write_text(json.dumps(_result([row("q", "page", _sample(10.0))])))
    assert runner_main(["--compare", str(results), str(results)]) == 0
    assert "| q | page | 10.0 | 10.0 | +0.0% |" in capsys.readouterr().out


def test_only_selects_known_benchmarks_and_refuses_unknown_ones() -> None:
    assert selected(["admin", "bench_seed"]) == ["bench_admin", "bench_seed"]
    assert {"bench_admin", "bench_query", "bench_seed"} <= set(selected(None))
    with pytest.raises(SystemExit):
        selected(["nonexistent"])


def test_bench_database_url_never_names_the_configured_database() -> None:
    url = "postgres://u@h:5432/gc?sslmode=disable"
    assert bench_database_url(url) == "postgres://u@h:5432/gc_bench?sslmode=disable"
    assert bench_database_url("postgres://u@h/gc_bench") == "postgres://u@h/gc_bench_bench"


def test_machine_description_reads_the_recorded_machine() -> None:
    info = {
        "os": "Linux 6.1 x86_64",
        "cpus": 2,
        "cpu_model": "AMD EPYC",
        "ram_gb": 23.4,
        "python": "3.11.7",
        "postgresql": "15.20",
        "redis": None,
    }
    assert machine_description(info) == (
        "Linux 6.1 x86_64, 2 CPUs (AMD EPYC), 23 GB RAM, Python 3.11.7, PostgreSQL 15.20, Redis unknown"
    )
