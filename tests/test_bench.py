"""bench/run.py's check that the columnar and the row-wise engines give the same report (issue 7, at scale)."""

from __future__ import annotations

import importlib.util
import json
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
