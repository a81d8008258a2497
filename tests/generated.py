"""Manifests from the benchmark's own generator (bench/generate.py), for tests that need realistic rows."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from checker.paths import ROOT


def manifest(tmp_path: Path, rows: int, **kw: Any) -> Path:
    """`rows` generated rows (semicolons, decimal commas) written to tmp_path/g.csv; `kw` goes to generate()."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    return gen.generate(tmp_path / "g.csv", rows, **kw)
