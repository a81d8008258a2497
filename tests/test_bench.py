"""bench/run.py's check that the columnar and the row-wise engines give the same report (issue 7, at scale)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from checker.paths import ROOT


def _bench_run() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(engine: str | None, findings: list[dict[str, Any]], stamp: str) -> dict[str, Any]:
    dialect = {"format": "csv", "delimiter": ";"} | ({"engine": engine} if engine else {})
    return {"generated_at": stamp, "manifest": {"path": "m.csv", "rows": 2, "dialect": dialect}, "policies": [],
            "summary": {"shipments": 2}, "shipments": [], "findings": findings}


def test_first_difference_ignores_the_time_and_the_engine_only(tmp_path: Path) -> None:
    first_difference = _bench_run().first_difference
    a, b = {"row": 2, "rule_id": "x"}, {"row": 2, "rule_id": "y"}
    fast, slow = tmp_path / "fast.json", tmp_path / "slow.json"
    fast.write_text(json.dumps(_report("columnar", [a, b], "2026-11-22T10:00:00Z")), encoding="utf-8")
    slow.write_text(json.dumps(_report(None, [a, b], "2026-11-22T10:00:05Z")), encoding="utf-8")
    assert first_difference(fast, slow) is None
    slow.write_text(json.dumps(_report(None, [b, a], "2026-11-22T10:00:05Z")), encoding="utf-8")  # same findings, other order
    assert first_difference(fast, slow) == "findings[0] (of 2 and 2)"
    slow.write_text(json.dumps(_report(None, [a], "2026-11-22T10:00:05Z")), encoding="utf-8")
    assert first_difference(fast, slow) == "findings[1] (of 2 and 1)"
    fast.write_text(json.dumps(_report("columnar", [a], "x") | {"summary": {"shipments": 3}}), encoding="utf-8")
    assert first_difference(fast, slow) == "summary"


def _bench_summary() -> Any:
    spec = importlib.util.spec_from_file_location("bench_summary", ROOT / "bench" / "summary.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


_RESULTS = """# Benchmark results

Intro.

## 2026-11-21 20:08 UTC

| rows | CSV MB | checker wall s | checker peak RSS MiB | naive jsonschema wall s | naive peak RSS MiB | speed-up |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| 100 | 0.0 | 0.27 | 35 | — | — | — |
| 1,000,000 | 288.4 | 19.9–23.9 | 801 | — | — | — |

## 2026-11-23 05:43 UTC

| rows | CSV MB | checker wall s | every run s | checker CPU s | checker peak memory MiB | naive jsonschema wall s | naive peak RSS MiB | speed-up |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| 100 | 0.0 | 0.15 | 0.17 / 0.15 / 0.15 | 0.15 | 27 | — | — | — |
| 1,000,000 | 288.4 | 3.44 | 3.86 / 3.18 / 3.44 | 5.65 | 785 | 185.27 | 19 | 53.9× |

| JSON Lines rows | MB | checker wall s | every run s | checker CPU s | checker peak memory MiB | row-wise wall s | speed-up |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| 100,000 | 81.5 | 2.10 | 2.10 | 2.50 | 400 | 52.00 | 24.8× |

### Notes of a session, with a table that is not a bench's

| chunk | wall s |
| ---: | ---: |
| 32 | 2.84 |
"""

_CALM = """
## 2026-11-23 09:00 UTC

| rows | CSV MB | checker wall s | every run s | checker CPU s | checker peak memory MiB | naive jsonschema wall s | naive peak RSS MiB | speed-up |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| 100 | 0.0 | 0.15 | 0.15 | 0.15 | 27 | — | — | — |
| 1,000,000 | 288.4 | 2.80 | 2.80 | 4.90 | 785 | 170.00 | 19 | 60.7× |
| 10,000,000 | 2904.2 | 31.29 | 31.29 | 53.10 | 2100 | — | — | — |
"""


def test_summary_reads_every_table_format_by_its_header() -> None:
    summary = _bench_summary()
    old, new = summary.parse(_RESULTS)
    assert old.stamp == "2026-11-21 20:08" and old.sizes[100].wall == 0.27 and old.sizes[100].memory == 35
    assert old.sizes[1_000_000].wall is None and old.sizes[1_000_000].memory == 801  # a range is no median
    assert new.sizes[1_000_000].wall == 3.44 and new.sizes[1_000_000].cpu == 5.65 and new.sizes[1_000_000].naive == 185.27
    assert set(new.sizes) == {100, 1_000_000}  # neither the JSON Lines table nor the notes' table is a CSV size


def test_summary_names_the_targets_missed_and_those_not_run() -> None:
    summary = _bench_summary()
    old, new = summary.parse(_RESULTS)
    assert new.verdicts() == {"1 M rows ≤ 3 s": False, "1 M rows ≤ 1.5 GB": True, "≥ 20× naive": True, "100 rows ≤ 0.5 s": True}
    assert new.verdict() == "**missed** 1 M rows ≤ 3 s (not run: 10 M rows ≤ 2 GB)"
    calm = summary.parse(_CALM)[0]
    assert calm.verdict() == "**missed** 10 M rows ≤ 2 GB"  # 2,100 MiB is over 2 GB (1,907 MiB)
    calm.sizes[10_000_000].memory = 1112
    assert calm.verdict() == "none missed"
    assert old.verdict() == "none missed (not run: 1 M rows ≤ 3 s, ≥ 20× naive, 10 M rows ≤ 2 GB)"


def test_summary_is_written_once_before_the_first_bench_and_follows_new_benches(tmp_path: Path, monkeypatch: Any) -> None:
    summary = _bench_summary()
    monkeypatch.setattr(summary, "SAME_CODE_SINCE", "2026-11-23 00:00")
    path = tmp_path / "RESULTS.md"
    path.write_text(_RESULTS, encoding="utf-8")
    summary.update(path)
    text = path.read_text(encoding="utf-8")
    assert text.index("Intro.") < text.index(summary.START) < text.index("## 2026-11-21 20:08 UTC")
    assert "**1 benches of the current checker code**" in text and "≤ 3 s in 0 of 1" in text
    summary.update(path)
    assert path.read_text(encoding="utf-8") == text  # rebuilt, not added again
    path.write_text(text + _CALM, encoding="utf-8")
    summary.update(path)
    text = path.read_text(encoding="utf-8")
    assert text.count(summary.START) == 1 and "≤ 3 s in 1 of 2" in text and "| 2026-11-23 09:00 | 0.15 | 2.80 |" in text
    assert "wall 2.80-3.44 s" in text


def test_results_md_summary_matches_its_tables() -> None:
    """The committed summary was rebuilt after the last bench appended (make bench does it; so does
    `python bench/summary.py`)."""
    summary = _bench_summary()
    text = (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    assert summary.START in text, "bench/RESULTS.md has no summary: run python bench/summary.py"
    assert summary.render(summary.parse(text)) in text, "bench/RESULTS.md's summary is stale: run python bench/summary.py"


def test_a_record_table_checks_the_json_document_and_compares_the_row_wise_report(tmp_path: Path, monkeypatch: Any) -> None:
    """The JSON document table of `make bench` on a small size: the document holds the JSON Lines file's records, both
    engines check it, and the table says they gave the same report."""
    run = _bench_run()
    monkeypatch.setattr(run, "DATA", tmp_path)
    monkeypatch.setenv("BENCH_REPEAT", "1")
    monkeypatch.setenv("BENCH_JSON", "300")
    records = [json.loads(line) for line in run.jsonl_manifest(300).read_text(encoding="utf-8").splitlines()]
    assert json.loads(run.json_manifest(300).read_text(encoding="utf-8")) == records and len(records) == 300
    lines = run.records_table(run.RECORD_FORMATS[1])
    assert lines[-1] == "\nThe row-wise engine on the 300-record JSON document file: the same report, apart from the dialect's `engine`."
    assert [line.split(" | ")[0] for line in lines if line.startswith("| 300 ")] == ["| 300"]
    monkeypatch.setenv("BENCH_JSON", "")
    assert run.records_table(run.RECORD_FORMATS[1]) == []


def test_the_reports_table_checks_every_other_format_and_is_no_bench_size_to_the_summary(tmp_path: Path, monkeypatch: Any) -> None:
    """`make bench`'s table of the other report formats: one line per format, each run's file written (and removed),
    and bench/summary.py does not read its manifest rows as a size of the JSON bench."""
    run = _bench_run()
    sys.path.insert(0, str(ROOT / "bench"))
    import summary

    monkeypatch.setattr(run, "DATA", tmp_path)
    monkeypatch.setenv("BENCH_REPORTS", "300")
    lines = run.reports_table()
    rows = [line.split(" | ") for line in lines if line.startswith("| ") and " | 300 | " in line]
    assert [r[0].lstrip("| ") for r in rows] == list(run.REPORT_FORMATS)
    assert float(rows[0][2]) > 0 and all(float(r[3]) > 0 for r in rows)  # JUnit's MB (300 testcases), every wall s
    assert not list(tmp_path.glob("report-300-*.out"))
    assert summary.parse("## 2026-11-23 17:00 UTC\n" + "\n".join(lines)) == []
    monkeypatch.setenv("BENCH_REPORTS", "")
    assert run.reports_table() == []


def test_the_issues_pace_is_timed_on_the_file_and_read_back_by_the_summary(tmp_path: Path, monkeypatch: Any) -> None:
    """Issue 7 gives its machine's speed as "csv.DictReader alone needs about 4 s" on the 1 M-row file: the bench
    times that on its own file and writes the line bench/summary.py reads back, and the summary puts the 1 M-row wall
    time on the issue's scale (a VM twice as slow as the issue's halves the figure)."""
    run, summary = _bench_run(), _bench_summary()
    path = tmp_path / "m.csv"
    path.write_text("a;b\n" + "1;2\n" * 20_000, encoding="utf-8")
    seconds = run.dictreader_seconds(path)
    assert 0 < seconds < 5
    calm = summary.parse(_CALM + "\n" + run.pace_line(2.80, 8.0) + run.fresh_line(3.41))[0]
    assert calm.dictreader == 8.0 and calm.paced == 1.40 and calm.fresh == 3.41
    assert summary.parse(_CALM)[0].paced is None and summary.parse(_CALM)[0].fresh is None  # older benches did not time them
    block = summary.render([calm])
    assert "timed by 1 of these benches): 1.40-1.40 s, median 1.40 s; ≤ 3 s in 1 of 1." in block
    assert "| 2026-11-23 09:00 | 0.15 | 2.80 | 4.90 | 8.00 | 1.40 | 3.41 | 785 |" in block
    assert 0 < run.fresh_memory_seconds(16 << 20) < 5  # 16 MiB here; the bench touches 1 GiB


def test_the_naive_baseline_runs_from_10k_up_to_1m_rows_unless_told_otherwise(monkeypatch: Any) -> None:
    """10 M rows would add 20-40 minutes of the naive baseline to a bench that asked for the 10 M-row memory figure."""
    run = _bench_run()
    monkeypatch.delenv("BENCH_NAIVE_MAX", raising=False)
    assert [run.naive_wanted(n) for n in (100, 10_000, 1_000_000, 10_000_000)] == [False, True, True, False]
    monkeypatch.setenv("BENCH_NAIVE_MAX", "0")
    assert run.naive_wanted(10_000_000)
    monkeypatch.setenv("BENCH_NAIVE_MAX", "100000")
    assert run.naive_wanted(100_000) and not run.naive_wanted(1_000_000)
