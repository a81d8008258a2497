"""The command line (checker/cli.py): exit codes, validate, list, JSON report, and the acceptance scenario."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from checker.cli import main

from conftest import CHECKER_BIN, SEEDS, line_of, parse_location, policy_text

HEADER = "shipment_id,origin_country,destination_country,delivery_type,length_mm,width_mm,height_mm,weight_kg,recipient_phone,dispatch_at\n"


def run_cli(*args: str, cwd: Path | None = None, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CHECKER_POLICIES", "CHECKER_SEEDS")}
    env.update(env_extra or {})
    return subprocess.run([CHECKER_BIN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def manifest(tmp_path: Path, *rows: str, name: str = "m.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


OK_ROW = "S-1,PL,DE,locker,300,200,100,2,+48512345678,2025-03-01"
HEAVY_ROW = "S-2,PL,DE,locker,300,200,100,12,+48512345678,2025-03-01"
NO_PHONE_ROW = "S-3,PL,DE,locker,300,200,100,2,,2025-03-01"


def check(tree, path: Path, *more: str) -> int:
    return main(["--policies", str(tree.root), "check", str(path), "--policy", "demo", *more])


# ---- exit codes (against the tiny demo policy) ---------------------------------------------------

def test_passing_manifest_exits_0(tree, tmp_path, capsys):
    assert check(tree, manifest(tmp_path, OK_ROW)) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_failing_manifest_exits_1(tree, tmp_path, capsys):
    assert check(tree, manifest(tmp_path, OK_ROW, HEAVY_ROW)) == 1


def test_fail_on_never_exits_0(tree, tmp_path, capsys):
    assert check(tree, manifest(tmp_path, OK_ROW, HEAVY_ROW), "--fail-on", "never") == 0


def test_warnings_only(tree, tmp_path, capsys):
    path = manifest(tmp_path, OK_ROW, NO_PHONE_ROW)
    assert check(tree, path) == 0                          # default --fail-on error
    assert check(tree, path, "--fail-on", "warning") == 1
    assert check(tree, path, "--fail-on", "error") == 0


def test_errors_fail_at_warning_level_too(tree, tmp_path, capsys):
    assert check(tree, manifest(tmp_path, HEAVY_ROW), "--fail-on", "warning") == 1


def test_json_report_contract(tree, tmp_path, capsys):
    path = manifest(tmp_path, OK_ROW, HEAVY_ROW, NO_PHONE_ROW)
    capsys.readouterr()
    assert check(tree, path, "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert {"tool", "generated_at", "manifest", "policies", "summary", "shipments", "findings"} <= set(report)
    assert report["tool"]["name"] == "checker" and report["tool"]["version"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["generated_at"])
    assert report["manifest"]["rows"] == 3
    assert report["policies"] == [{**report["policies"][0], "family": "demo", "version": "2025-01-01"}]
    assert re.fullmatch(r"[0-9a-f]{64}", report["policies"][0]["sha256"])
    summary = report["summary"]
    assert {"shipments", "passed", "failed", "errors", "warnings"} <= set(summary)
    assert (summary["shipments"], summary["passed"], summary["failed"]) == (3, 1, 1)
    assert (summary["errors"], summary["warnings"]) == (1, 1)
    # only shipments with findings are listed; row = CSV line (header is line 1)
    listed = {s["shipment_id"]: s for s in report["shipments"]}
    assert set(listed) == {"S-2", "S-3"}
    assert (listed["S-2"]["row"], listed["S-2"]["status"]) == (3, "failed")
    assert (listed["S-3"]["row"], listed["S-3"]["status"]) == (4, "warning")
    assert listed["S-2"]["policy"] == {"family": "demo", "version": "2025-01-01"}
    keys = {"shipment_id", "row", "severity", "rule_id", "kind", "policy", "clause", "exception", "waived",
            "field", "actual", "expected", "message", "fix"}
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    assert set(by_rule) == {"max-weight", "recipient-phone"}
    for f in report["findings"]:
        assert keys <= set(f)
    heavy = by_rule["max-weight"]
    assert (heavy["shipment_id"], heavy["row"], heavy["severity"], heavy["kind"]) == ("S-2", 3, "error", "limit")
    assert heavy["clause"]["id"] == "§1.1" and heavy["clause"]["quote"] == "A parcel may weigh at most 10 kg."
    assert heavy["field"] == "weight_kg" and heavy["actual"] == 12
    assert heavy["exception"] is None and heavy["waived"] is None
    assert by_rule["recipient-phone"]["severity"] == "warning"


def test_input_problem_is_a_finding_in_the_report(tree, tmp_path, capsys):
    path = manifest(tmp_path, "S-9,PL,DE,locker,300,200,100,heavy,+48512345678,2025-03-01")
    capsys.readouterr()
    assert check(tree, path, "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    inputs = [f for f in report["findings"] if f["kind"] == "input"]
    assert [(f["field"], f["row"]) for f in inputs] == [("weight_kg", 2)]


def test_output_file(tree, tmp_path, capsys):
    out = tmp_path / "out" / "report.json"
    assert check(tree, manifest(tmp_path, OK_ROW), "--format", "json", "--output", str(out)) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["passed"] == 1


# ---- exit code 2 ---------------------------------------------------------------------------------

def test_missing_manifest_exits_2_with_one_line(tmp_path):
    proc = run_cli("check", str(tmp_path / "nope.csv"), "--policy", "inpost-international")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "nope.csv" in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [
    ["--policy", "no-such-family"],
    ["--policy", "demo@1999-01-01"],
    ["--policy", "demo", "--as-of", "yesterday"],
    ["--policy", "demo", "--rates", "missing-rates.yaml"],
])
def test_other_unusable_inputs_exit_2(tree, tmp_path, capsys, args):
    code = main(["--policies", str(tree.root), "check", str(manifest(tmp_path, OK_ROW)), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_broken_json_manifest_exits_2(tree, tmp_path, capsys):
    p = tmp_path / "m.json"
    p.write_text("[{", encoding="utf-8")
    assert check(tree, p) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_manifest_too_large_for_memory_exits_2_with_one_sentence(tree, tmp_path, capsys, monkeypatch):
    """A JSON document is read whole; where that runs out of memory the command says so, writes no report, and exits 2."""
    import checker.run

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(checker.run, "check_manifest", out_of_memory)
    p = tmp_path / "m.json"
    p.write_text('[{"shipment_id": "S-1"}]', encoding="utf-8")
    out = tmp_path / "report.json"
    assert check(tree, p, "--format", "json", "--output", str(out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "JSON Lines or CSV" in err
    assert not out.exists()


def test_check_with_a_broken_policy_tree_exits_2(tree, tmp_path, capsys):
    tree.policy.write_text(policy_text().replace("    max: 10\n", "    max: ten\n"), encoding="utf-8")
    assert check(tree, manifest(tmp_path, OK_ROW)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "policy.yaml:" in err


# ---- validate and list ---------------------------------------------------------------------------

def test_validate_a_good_tree(tree, capsys):
    assert main(["--policies", str(tree.root), "validate"]) == 0


def test_validate_a_broken_tree_prints_file_line_column(tree, capsys):
    text = policy_text().replace("    max: 10\n", "    max: ten\n")
    tree.policy.write_text(text, encoding="utf-8")
    assert main(["--policies", str(tree.root), "validate"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    path, line, col, _ = parse_location(out[0])
    assert path == tree.policy.resolve()
    assert line == line_of(text, "max: ten") and col >= 1


def test_validate_subprocess(tree):
    text = policy_text().replace("supersedes: null", "supersedse: null")
    tree.policy.write_text(text, encoding="utf-8")
    proc = run_cli("--policies", str(tree.root), "validate", cwd=tree.root.parent,
                   env_extra={"CHECKER_SEEDS": str(tree.seeds)})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    located = [parse_location(line) for line in proc.stdout.splitlines() if "supersedse" in line]
    assert [(p, ln) for p, ln, _, _ in located] == [(tree.policy.resolve(), line_of(text, "supersedse"))]


def test_list(tree, capsys):
    second = policy_text().replace('version: "2025-01-01"', 'version: "2025-07-01"') \
        .replace("effective_from: 2025-01-01", "effective_from: 2025-07-01") \
        .replace("supersedes: null", 'supersedes: "2025-01-01"')
    tree.write("demo/2025-07-01/policy.yaml", second)
    assert main(["--policies", str(tree.root), "list"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "2025-01-01" in out and "2025-07-01" in out and "in_force" in out
    assert main(["--policies", str(tree.root), "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_version = {r["version"]: r for r in rows}
    assert set(by_version) == {"2025-01-01", "2025-07-01"}
    assert by_version["2025-01-01"]["effective_from"] == "2025-01-01"
    assert by_version["2025-01-01"]["effective_until"] == "2025-06-30"   # the day before the next version
    assert by_version["2025-07-01"]["effective_until"] is None
    assert all(r["family"] == "demo" and r["status"] == "in_force" for r in rows)


def test_list_the_repository_policies():
    proc = run_cli("list")
    assert proc.returncode == 0, proc.stderr
    assert "inpost-international" in proc.stdout


# ---- acceptance scenario (the repository's own policies and seeds) -------------------------------

ACCEPT_HEADER = ("shipment_id,origin_country,destination_country,delivery_type,length_mm,width_mm,height_mm,weight_kg,dispatch_at,"
                 "dropoff_type,shape,declared_value,value_currency,contents,recipient_name,recipient_phone,recipient_email,"
                 "recipient_street,recipient_building,recipient_city,recipient_postcode,target_point,size_category,"
                 "sender_name,sender_phone,sender_email\n")
# Everything else about the parcel is in order, so the size rule is the only thing that can decide.
COMPLETE = (",locker,box,80,EUR,Books,Lukas Gruber,+43 664 1234567,lukas@example.at,Hauptstrasse,5,Wien,1010,{point},{size},"
            "Sklep,+48 512 345 678,sklep@example.pl\n")


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_acceptance_pl_to_at_point_is_refused_citing_4_3(tmp_path):
    p = tmp_path / "at.csv"
    p.write_text(ACCEPT_HEADER + "AT-1,PL,AT,pudo,620,300,70,5,2025-12-01" + COMPLETE.format(point="AT-1010-04", size="C"), encoding="utf-8")
    proc = run_cli("check", str(p), "--policy", "inpost-international", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["failed"] == 1
    cited = [f for f in report["findings"] if f["severity"] == "error" and (f.get("clause") or {}).get("id") == "§4.3"]
    assert cited, report["findings"]
    seed = _collapse((SEEDS / "002_e3a7d3f7e25b4b9d.txt").read_text(encoding="utf-8"))
    for f in cited:
        assert f["shipment_id"] == "AT-1" and f["row"] == 2
        quote = _collapse(f["clause"]["quote"])
        assert quote and quote in seed


def test_acceptance_same_parcel_to_the_door_passes(tmp_path):
    p = tmp_path / "door.csv"
    p.write_text(ACCEPT_HEADER + "AT-2,PL,AT,door,620,300,70,5,2025-12-01" + COMPLETE.format(point="", size=""), encoding="utf-8")
    proc = run_cli("check", str(p), "--policy", "inpost-international", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["failed"] == 0
    assert report["findings"] == []


@pytest.mark.parametrize("target", ["file", "family", "root"])
def test_validate_a_path(tree, capsys, target):
    text = policy_text().replace("    severity: warning\n", "    severity: fatal\n")
    tree.policy.write_text(text, encoding="utf-8")
    path = {"file": tree.policy, "family": tree.family.parent, "root": tree.root}[target]
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert [parse_location(line)[:2] for line in out] == [(tree.policy.resolve(), line_of(text, "severity: fatal"))]


def test_validate_a_missing_path_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nothing-here")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_command_flushes_its_output_before_it_ends(tmp_path):
    """The `checker` command ends with os._exit after main() (cli.entry): what it printed to a pipe is all there, and
    its exit code is main()'s."""
    from checker.paths import ROOT

    proc = run_cli("check", str(ROOT / "examples" / "manifest.csv"), "--policy", "inpost-international", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["shipments"] == report["manifest"]["rows"] > 0
    assert len(report["findings"]) >= report["summary"]["errors"] > 0
