"""Shared helpers: building shipments by hand and writing a tiny, valid policy tree into tmp_path."""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checker.engine import CompileCtx
from checker.shipment import EvalEnv, Rates, Shipment

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"
CHECKER_BIN = str(Path(sys.executable).parent / "checker")


def ship(row: int = 2, shipment_id: str = "S-1", **values: Any) -> Shipment:
    """A normalised shipment as the reader would produce it."""
    return Shipment(row, dict(values), shipment_id)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the `occurrence`-th line of `text` containing `needle`."""
    seen = 0
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return i
    raise AssertionError(f"{needle!r} not found in fixture text")


def col_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based column where `needle` starts on the line found by line_of."""
    line = text.splitlines()[line_of(text, needle, occurrence) - 1]
    return line.index(needle) + 1


_LOC = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$", re.S)


def parse_location(problem: str) -> tuple[Path, int, int, str]:
    """Split 'path:line:column: message' and resolve the path (relative paths are relative to the cwd)."""
    m = _LOC.match(problem)
    assert m, f"not a 'path:line:column: message' problem: {problem!r}"
    return Path(m["path"]).resolve(), int(m["line"]), int(m["col"]), m["msg"]


@pytest.fixture
def ctx() -> CompileCtx:
    return CompileCtx(timezone="Europe/Warsaw", family="x")


@pytest.fixture
def env() -> EvalEnv:
    return EvalEnv(rates=Rates(base="PLN", per_unit={"EUR": 4.0}))


# ---- a tiny policy tree ---------------------------------------------------------------------------

SOURCE_TEXT = """Demo parcel terms
Section 1
1. A parcel may weigh
   at most 10 kg.
2. The recipient's phone number must be given.
"""

FAMILY_YAML = """\
id: demo
title: Demo parcel service
operator: Demo Operator
jurisdiction: PL
timezone: Europe/Warsaw
"""

POLICY_YAML = """\
version: "2025-01-01"
title: Demo terms (2025-01-01)
status: in_force
effective_from: 2025-01-01
supersedes: null
sources:
  - file: demo.txt
    language: en
    binding: true
    sha256: {sha}
clauses:
  - id: "§1.1"
    title: Weight
    quote: "A parcel may weigh at most 10 kg."
  - id: "§1.2"
    title: Phone
    quote: "The recipient's phone number must be given."
rules:
  - id: max-weight
    title: At most 10 kg
    clause: "§1.1"
    severity: error
    kind: limit
    field: weight_kg
    max: 10
    message: "Weight {actual} kg is not {expected}"
    fix: Split the parcel.
  - id: recipient-phone
    title: Phone given
    clause: "§1.2"
    severity: warning
    kind: required
    fields: [recipient_phone]
    message: "{detail}"
    fix: Add the recipient's phone number.
"""


@dataclass
class Tree:
    root: Path          # the policies folder (contains demo/)
    seeds: Path         # the folder CHECKER_SEEDS points at
    family: Path        # demo/family.yaml
    version_dir: Path   # demo/2025-01-01
    policy: Path        # demo/2025-01-01/policy.yaml

    def write(self, relpath: str, text: str) -> Path:
        p = self.root / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p


def policy_text() -> str:
    return POLICY_YAML.replace("{sha}", hashlib.sha256(SOURCE_TEXT.encode("utf-8")).hexdigest())


def make_tree(base: Path) -> Tree:
    root = base / "pol"
    seeds = base / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "demo.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    (root / "demo" / "2025-01-01").mkdir(parents=True)
    family = root / "demo" / "family.yaml"
    family.write_text(FAMILY_YAML, encoding="utf-8")
    policy = root / "demo" / "2025-01-01" / "policy.yaml"
    policy.write_text(policy_text(), encoding="utf-8")
    return Tree(root, seeds, family, policy.parent, policy)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    """A valid one-family policy tree; cwd is tmp_path and CHECKER_SEEDS holds its source document."""
    t = make_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHECKER_SEEDS", str(t.seeds))
    monkeypatch.delenv("CHECKER_POLICIES", raising=False)
    return t
