"""Policy loading (checker/loader.py, checker/yamlio.py): every problem points at file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.errors import PolicyLoadError
from checker.loader import load_policies, load_policies_or_fail
from checker.yamlio import YamlError, load_yaml_text

from conftest import FAMILY_YAML, col_of, line_of, parse_location, policy_text


def problems_of(tree) -> list[str]:
    _, problems = load_policies(tree.root)
    return [str(p) for p in problems]


def only_problem(tree) -> tuple[Path, int, int, str]:
    found = problems_of(tree)
    assert len(found) == 1, found
    return parse_location(found[0])


# ---- the fixture itself --------------------------------------------------------------------------

def test_the_fixture_tree_is_valid(tree):
    policies, problems = load_policies(tree.root)
    assert [str(p) for p in problems] == []
    fam = policies.family("demo")
    assert fam is not None and fam.timezone == "Europe/Warsaw"
    v = fam.version("2025-01-01")
    assert v is not None
    assert [r.id for r in v.rules] == ["max-weight", "recipient-phone"]
    assert set(v.clauses) == {"§1.1", "§1.2"}
    assert len(v.sha256) == 64


def test_load_policies_or_fail_raises_with_every_problem(tree):
    tree.policy.write_text(policy_text().replace('clause: "§1.1"', 'clause: "§9.9"')
                           .replace('clause: "§1.2"', 'clause: "§9.8"'), encoding="utf-8")
    with pytest.raises(PolicyLoadError) as exc:
        load_policies_or_fail(tree.root)
    assert len(exc.value.problems) == 2
    assert any("§9.9" in p for p in exc.value.problems) and any("§9.8" in p for p in exc.value.problems)


# ---- schema problems -----------------------------------------------------------------------------

def test_misspelt_top_level_key(tree):
    text = policy_text().replace("supersedes: null", "supersedse: null")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert (line, col) == (line_of(text, "supersedse"), 1)
    assert "supersedse" in msg and "supersedes" in msg   # suggests the right spelling


def test_misspelt_key_inside_a_rule(tree):
    text = policy_text().replace("    fix: Split the parcel.", "    fixx: Split the parcel.")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert (line, col) == (line_of(text, "fixx:"), col_of(text, "fixx:"))
    assert "fixx" in msg


def test_misspelt_key_in_family_yaml(tree):
    text = FAMILY_YAML + "descripton: A demo.\n"
    tree.family.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.family.resolve()
    assert (line, col) == (line_of(text, "descripton"), 1)
    assert "descripton" in msg


def test_wrong_type_in_a_rule(tree):
    text = policy_text().replace("    max: 10\n", "    max: ten\n")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert line == line_of(text, "max: ten")
    assert "type" in msg or "number" in msg


def test_wrong_type_in_family_yaml(tree):
    text = FAMILY_YAML.replace("timezone: Europe/Warsaw", "timezone: [Europe/Warsaw]")
    tree.family.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.family.resolve()
    assert line == line_of(text, "timezone:")
    assert "string" in msg


def test_bad_enum_value(tree):
    text = policy_text().replace("    severity: warning\n", "    severity: fatal\n")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert line == line_of(text, "severity: fatal")
    assert "fatal" in msg


# ---- YAML problems -------------------------------------------------------------------------------

def test_broken_yaml_syntax(tree):
    text = policy_text().replace("title: Demo terms (2025-01-01)", "title: Demo terms: 2025")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert line == line_of(text, "title: Demo terms: 2025")
    assert col == col_of(text, ": 2025")   # the second ':' on the line
    assert "yaml" in msg.lower()


def test_unclosed_bracket(tree):
    text = policy_text().replace("fields: [recipient_phone]", "fields: [recipient_phone")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, _, _ = only_problem(tree)
    assert path == tree.policy.resolve()
    # the parser notices on the next line, which starts with a key where a ',' or ']' was due
    assert line == line_of(text, "fields: [recipient_phone") + 1


def test_duplicate_key(tree):
    text = policy_text().replace("    max: 10\n", "    max: 10\n    max: 12\n")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert (line, col) == (line_of(text, "max: 12"), col_of(text, "max: 12"))
    assert "duplicate" in msg and "max" in msg


def test_alias_is_refused(tree):
    text = policy_text().replace("title: Demo terms (2025-01-01)", "title: &t Demo terms (2025-01-01)")
    text = text.replace("    title: At most 10 kg\n", "    title: *t\n")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert (line, col) == (line_of(text, "title: *t"), col_of(text, "*t"))
    assert "alias" in msg


def test_yamlio_marks_follow_json_pointers():
    text = "a: 1\nrules:\n  - id: x\n    max: 10\n  - id: y\n"
    doc = load_yaml_text(text, "f.yaml")
    assert doc.data == {"a": 1, "rules": [{"id": "x", "max": 10}, {"id": "y"}]}
    assert (doc.mark_for("/rules/0/max").line, doc.mark_for("/rules/0/max").column) == (4, 10)
    assert doc.mark_for("/rules/1").line == 5
    assert doc.mark_for("/rules/1/missing").line == 5   # a missing key points at its parent
    assert str(doc.mark_for("/a")) == "f.yaml:1:4"


def test_yamlio_dates_become_iso_strings():
    assert load_yaml_text("d: 2025-12-01\n", "f.yaml").data == {"d": "2025-12-01"}


def test_yamlio_duplicate_key_deep_inside():
    with pytest.raises(YamlError) as exc:
        load_yaml_text("a:\n  b:\n    c: 1\n    c: 2\n", "f.yaml")
    assert (exc.value.mark.line, exc.value.mark.column) == (4, 5)


# ---- semantic problems ---------------------------------------------------------------------------

def test_dangling_clause_reference(tree):
    text = policy_text().replace('clause: "§1.2"', 'clause: "§9.9"')
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert "§9.9" in msg
    # the reference that dangles is written on the rule's `clause:` line
    assert line == line_of(text, 'clause: "§9.9"')


def test_dangling_also_cites(tree):
    text = policy_text().replace('    clause: "§1.1"\n', '    clause: "§1.1"\n    also_cites: ["§7.7"]\n')
    tree.policy.write_text(text, encoding="utf-8")
    path, line, col, msg = only_problem(tree)
    assert "§7.7" in msg
    assert line == line_of(text, "also_cites")


def test_clause_defined_twice(tree):
    text = policy_text().replace('  - id: "§1.2"', '  - id: "§1.1"')
    text = text.replace('clause: "§1.2"', 'clause: "§1.1"')
    tree.policy.write_text(text, encoding="utf-8")
    path, line, _, msg = only_problem(tree)
    assert line == line_of(text, '- id: "§1.1"', occurrence=2)
    assert "§1.1" in msg and "twice" in msg


def test_rule_id_used_twice(tree):
    text = policy_text().replace("  - id: recipient-phone", "  - id: max-weight")
    tree.policy.write_text(text, encoding="utf-8")
    path, line, _, msg = only_problem(tree)
    assert line == line_of(text, "- id: max-weight", occurrence=2)
    assert "max-weight" in msg


def test_version_folder_name_must_match(tree):
    text = policy_text().replace('version: "2025-01-01"', 'version: "2025-01-02"')
    tree.policy.write_text(text, encoding="utf-8")
    path, line, _, msg = only_problem(tree)
    assert line == line_of(text, "version:")
    assert "2025-01-02" in msg


def second_version(tree, effective_from: str, extra: str = "") -> tuple[Path, str]:
    text = (policy_text().replace('version: "2025-01-01"', f'version: "{effective_from}"')
            .replace("effective_from: 2025-01-01", f"effective_from: {effective_from}{extra}")
            .replace("supersedes: null", 'supersedes: "2025-01-01"'))
    return tree.write(f"demo/{effective_from}/policy.yaml", text), text


def test_two_consecutive_versions_are_fine(tree):
    second_version(tree, "2025-07-01")
    policies, problems = load_policies(tree.root)
    assert [str(p) for p in problems] == []
    fam = policies.family("demo")
    import datetime as dt
    assert fam.resolve(dt.date(2025, 6, 30)).id == "2025-01-01"
    assert fam.resolve(dt.date(2025, 7, 1)).id == "2025-07-01"
    assert fam.resolve(dt.date(2024, 12, 31)) is None


def test_overlapping_versions(tree):
    first = policy_text().replace("effective_from: 2025-01-01", "effective_from: 2025-01-01\neffective_until: 2025-06-30")
    tree.policy.write_text(first, encoding="utf-8")
    second_path, second = second_version(tree, "2025-06-01")
    path, line, _, msg = only_problem(tree)
    assert "overlap" in msg
    # the overlap is made by the first version's effective_until or the second's effective_from: point at one of them
    assert (path, line) in {(tree.policy.resolve(), line_of(first, "effective_until")),
                            (second_path.resolve(), line_of(second, "effective_from"))}


def test_override_names_an_unknown_rule(tree):
    text = ("countries: [AT]\n"
            "title: Austria\n"
            "override:\n"
            "  max-wieght:\n"
            "    max: 20\n")
    layer = tree.write("demo/2025-01-01/countries/AT.yaml", text)
    path, line, col, msg = only_problem(tree)
    assert path == layer.resolve()
    assert (line, col) == (line_of(text, "max-wieght"), col_of(text, "max-wieght"))
    assert "max-wieght" in msg


def test_a_valid_override_loads_and_applies(tree):
    tree.write("demo/2025-01-01/countries/AT.yaml", "countries: [AT]\noverride:\n  max-weight:\n    max: 20\n")
    policies, problems = load_policies(tree.root)
    assert [str(p) for p in problems] == []
    v = policies.family("demo").version("2025-01-01")
    at = {r.id: r for r in v.effective_rules("PL", "AT")}
    pl = {r.id: r for r in v.effective_rules("PL", "PL")}
    assert at["max-weight"].params["max"] == 20 and at["max-weight"].layer == "country:AT"
    assert pl["max-weight"].params["max"] == 10 and pl["max-weight"].layer == "base"


def test_override_with_an_invalid_value(tree):
    text = "countries: [AT]\noverride:\n  max-weight:\n    max: lots\n"
    layer = tree.write("demo/2025-01-01/countries/AT.yaml", text)
    found = problems_of(tree)
    assert found
    path, line, _, _ = parse_location(found[0])
    assert path == layer.resolve()
    assert line in (line_of(text, "max-weight"), line_of(text, "max: lots"))


# ---- source documents ----------------------------------------------------------------------------

def test_quote_not_in_the_source(tree):
    text = policy_text().replace('"A parcel may weigh at most 10 kg."', '"A parcel may weigh at most 12 kg."')
    tree.policy.write_text(text, encoding="utf-8")
    path, line, _, msg = only_problem(tree)
    assert path == tree.policy.resolve()
    assert "verbatim" in msg
    assert line == line_of(text, '- id: "§1.1"')


def test_changed_source_document(tree):
    (tree.seeds / "demo.txt").write_text("something else entirely\n", encoding="utf-8")
    found = problems_of(tree)
    text = tree.policy.read_text(encoding="utf-8")
    assert any(parse_location(p)[1] == line_of(text, "sha256:") and "sha256" in p for p in found)


def test_no_seeds_folder_skips_source_checks(tree, monkeypatch, tmp_path):
    monkeypatch.setenv("CHECKER_SEEDS", str(tmp_path / "does-not-exist"))
    text = policy_text().replace('"A parcel may weigh at most 10 kg."', '"A parcel may weigh at most 12 kg."')
    tree.policy.write_text(text, encoding="utf-8")
    assert problems_of(tree) == []
