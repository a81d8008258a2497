"""Policy test cases kept as data next to each version (conftest/OPA style): a shipment and the findings it must produce.

Coverage counts both sides of every rule: a case where the rule fires (expected finding)
and a case where it applies and stays silent (the rule's `when` held, no finding). A rule
changed by a country layer is a separate rule for coverage: the layer file is part of the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Engine
from .findings import Finding
from .loader import Problem, schema_problems
from .manifest import Normaliser
from .model import PolicySet, Version
from .yamlio import YamlError, load_yaml_file


@dataclass
class CaseResult:
    file: str
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    universe: set[tuple[str, str, str]] = field(default_factory=set)  # (version label, rule id, layer key)
    fired: set[tuple[str, str, str]] = field(default_factory=set)
    passed: set[tuple[str, str, str]] = field(default_factory=set)

    always: set[tuple[str, str, str]] = field(default_factory=set)  # refuse-everything rules: no passing side exists

    def _has_pass(self, key: tuple[str, str, str]) -> bool:
        return key in self.passed or key in self.always

    def missing(self) -> list[str]:
        out = []
        for key in sorted(self.universe):
            sides = [s for s, have in (("failing", key in self.fired), ("passing", self._has_pass(key))) if not have]
            if sides:
                out.append(f"{key[0]} {key[1]} [{key[2]}]: no {' and no '.join(sides)} case")
        return out

    def percent(self) -> float:
        if not self.universe:
            return 100.0
        sides = sum((k in self.fired) + self._has_pass(k) for k in self.universe)
        return 100.0 * sides / (2 * len(self.universe))


def _layer_key(layer: str, exception: dict[str, Any] | None) -> str:
    if exception and exception.get("file"):
        return Path(exception["file"]).name
    return "base"


def rule_universe(v: Version) -> set[tuple[str, str, str]]:
    keys = {(v.label, r.id, "base") for r in v.rules}
    for ly in v.layers:
        name = Path(ly.file).name
        keys |= {(v.label, rid, name) for rid in ly.override}
        keys |= {(v.label, r.id, name) for r in ly.add}
    return keys


def _matches(exp: dict[str, Any], f: Finding) -> bool:
    if exp["rule"] != f.rule_id:
        return False
    if "clause" in exp and (f.clause or {}).get("id") != exp["clause"]:
        return False
    for key in ("severity", "field", "layer"):
        if key in exp and getattr(f, key) != exp[key]:
            return False
    return True


def run_version_tests(policies: PolicySet, v: Version, cov: Coverage) -> tuple[list[CaseResult], list[Problem]]:
    results: list[CaseResult] = []
    problems: list[Problem] = []
    cov.universe |= rule_universe(v)
    cov.always |= {(v.label, r.id, "base") for r in v.rules if r.kind == "refuse" and not r.when}
    tests_dir = Path(v.path) / "tests"
    for path in sorted(tests_dir.glob("*.yaml")) if tests_dir.is_dir() else []:
        try:
            doc = load_yaml_file(path)
        except YamlError as exc:
            problems.append(Problem(exc.mark, exc.message))
            continue
        found = schema_problems(doc, "policy-tests.schema.json")
        if found:
            problems.extend(found)
            continue
        for i, case in enumerate(doc.data["cases"]):
            results.append(_run_case(policies, v, doc.path, i, case, cov))
    return results, problems


def _run_case(policies: PolicySet, v: Version, file: str, index: int, case: dict[str, Any], cov: Coverage) -> CaseResult:
    as_of = dt.date.fromisoformat(case["as_of"]) if case.get("as_of") else None
    engine = Engine(policies, family=v.family, version=v.id, as_of=as_of)
    rec = {"shipment_id": case["name"], **case["shipment"]}
    ship, input_findings = Normaliser(f"{file}#case{index + 1}").shipment(index + 1, rec)
    ev = engine.evaluate(ship)
    findings = input_findings + ev.findings
    problems: list[str] = []
    unmatched = list(findings)
    for exp in case["expect"]:
        hit = next((f for f in unmatched if _matches(exp, f)), None)
        if hit is None:
            got = ", ".join(f"{f.rule_id} ({(f.clause or {}).get('id')}, {f.severity}, {f.layer})" for f in findings) or "no findings"
            problems.append(f"expected {exp} but got: {got}")
        else:
            unmatched.remove(hit)
    for f in unmatched:
        problems.append(f"unexpected finding {f.rule_id} ({(f.clause or {}).get('id')}): {f.message}")
    fired_here = {(f.rule_id, _layer_key(f.layer, f.exception)) for f in ev.findings
                  if f.policy and f.policy.get("family") == v.family and f.policy.get("version") == v.id}
    cov.fired |= {(v.label, rid, layer_key) for rid, layer_key in fired_here}
    for label, rid, layer_key in ev.applied_keys:
        if label == v.label and (rid, layer_key) not in fired_here:
            cov.passed.add((label, rid, layer_key))
    for rid in case.get("expect_passing", []):
        if not any(label == v.label and r == rid and (r, k) not in fired_here for label, r, k in ev.applied_keys):
            problems.append(f"expected rule {rid} to apply and pass, but it {'fired' if any(r == rid for r, _ in fired_here) else 'did not apply'}")
    return CaseResult(file, case["name"], not problems, problems)


def run_all(policies: PolicySet, only: list[str] | None = None) -> tuple[list[CaseResult], list[Problem], Coverage]:
    cov = Coverage()
    results: list[CaseResult] = []
    problems: list[Problem] = []
    for fam in policies.families.values():
        for v in fam.versions:
            if only and not any(Path(v.path).resolve().is_relative_to(Path(p).resolve()) or
                                Path(p).resolve().is_relative_to(Path(v.path).resolve()) for p in only):
                continue
            r, p = run_version_tests(policies, v, cov)
            results.extend(r)
            problems.extend(p)
    return results, problems, cov
