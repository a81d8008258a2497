"""The shipped policies: valid, quoted verbatim, generated schema up to date, test cases passing with full coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker import policy_schema
from checker.citations import normalise, quotes_of, unverified
from checker.loader import load_policies
from checker.paths import ROOT, policies_dir, schema_dir, seeds_dir
from checker.policytest import run_all


@pytest.fixture(scope="module")
def seeds() -> Path:
    """The source documents; CI always has them beside the clone (../shared/seeds)."""
    path = seeds_dir()
    if not path.is_dir():
        pytest.skip(f"source documents not present at {path}")
    return path


@pytest.fixture(scope="module")
def policies():
    ps, problems = load_policies(policies_dir())
    assert [str(p) for p in problems] == []
    return ps


def test_generated_schema_is_committed() -> None:
    assert (schema_dir() / "policy.schema.json").read_text(encoding="utf-8") == policy_schema.dumps(policy_schema.build())
    for name, doc in policy_schema.wrappers().items():
        assert (schema_dir() / name).read_text(encoding="utf-8") == policy_schema.dumps(doc)


def test_every_quote_is_verbatim_in_its_source(policies, seeds: Path) -> None:
    checked = 0
    for fam in policies.families.values():
        for v in fam.versions:
            assert unverified(v, seeds) == []
            checked += len(quotes_of(v))
    assert checked >= 10


def test_citation_check_catches_an_altered_quote(policies, seeds: Path) -> None:
    v = policies.families["inpost-international"].version("2025-11-20")
    clause = v.clauses["§4.1"]
    original = clause.quote
    try:
        clause.quote = original.replace("640", "650")
        bad = unverified(v, seeds)
        assert [q.where for q, _ in bad] == ["clause §4.1"]
    finally:
        clause.quote = original


def test_whitespace_normalisation_only() -> None:
    assert normalise("a\t b\n\nc ") == "a b c"


def test_every_rule_cites_an_existing_clause(policies) -> None:
    for fam in policies.families.values():
        for v in fam.versions:
            for r in list(v.rules) + [r for ly in v.layers for r in ly.add]:
                assert r.clause in v.clauses, (v.label, r.id)


def test_policy_cases_pass_with_full_coverage(policies) -> None:
    results, problems, cov = run_all(policies)
    assert problems == []
    assert [r for r in results if not r.ok] == []
    assert len(results) >= 20
    assert cov.missing() == [] and cov.percent() == 100.0


def test_every_yaml_policy_file_names_its_schema() -> None:
    for path in (ROOT / "policies").rglob("*.yaml"):
        head = path.read_text(encoding="utf-8").splitlines()[0]
        assert head.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / head.split("=", 1)[1]).resolve()
        assert target.exists(), f"{path}: {target}"
