"""JUnit, SARIF and GitHub outputs: valid for their consumers and in agreement with the JSON report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsonschema import Draft4Validator
from junitparser import Failure, JUnitXml

from checker.cli import main
from checker.paths import ROOT

EXAMPLE = ROOT / "examples" / "manifest.csv"
FIXTURES = Path(__file__).parent / "fixtures"


def _run_all_formats(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    code = main(["check", str(EXAMPLE), "--policy", "inpost-international", "--format", "json", "--format", "junit",
                 "--format", "sarif", "--format", "html", "--output-dir", str(out), "--quiet"])
    assert code == 1
    return out


def test_four_formats_in_one_run_agree_on_counts(tmp_path: Path) -> None:
    out = _run_all_formats(tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.junit.xml", "report.sarif"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    s = report["summary"]
    xml = JUnitXml.fromfile(str(out / "report.junit.xml"))
    cases = [c for suite in xml for c in suite]
    assert len(cases) == s["shipments"] == 30
    failed_cases = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
    assert len(failed_cases) == s["failed"]
    assert all(sum(isinstance(r, Failure) for r in c.result) == 1 for c in failed_cases)
    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert len(results) == len(report["findings"])
    assert sum(r["level"] == "error" for r in results) == s["errors"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"{s['failed']} of {s['shipments']} shipments" in html


def test_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    out = _run_all_formats(tmp_path)
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    doc = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    assert list(Draft4Validator(schema).iter_errors(doc)) == []
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    lock = next(r for r in rules if r["id"] == "inpost-international/locker-size")
    assert lock["properties"]["clause"] in ("§4.1", "§4.3")
    assert "Gabaryt" in lock["help"]["text"]
    # A result points at the CSV line of the record.
    r = next(r for r in doc["runs"][0]["results"] if r["properties"]["shipment_id"] == "ZAM-2025-0004")
    assert r["locations"][0]["physicalLocation"]["region"]["startLine"] == 5


def test_sarif_schema_is_not_vacuous() -> None:
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    assert list(Draft4Validator(schema).iter_errors({"version": "2.1.0", "runs": [{"tool": {}}]}))


def test_github_annotations_point_at_manifest_lines(tmp_path: Path, capsys) -> None:
    code = main(["check", str(EXAMPLE), "--policy", "inpost-international", "--format", "github"])
    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    first = next(line for line in lines if "ZAM-2025-0004" in line and line.startswith("::error"))
    assert first.startswith(f"::error file={EXAMPLE},line=5,title=locker-size (§4.3)::") or "line=5" in first
    assert "%0A" not in first.split("::", 2)[1]


def test_github_escapes_newlines_in_manifest_text(tmp_path: Path, capsys) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps([{"shipment_id": "A\nB::error::x", "dispatch_at": "2025-12-01", "origin_country": "PL",
                              "destination_country": "FR", "delivery_type": "door"}]), encoding="utf-8")
    assert main(["check", str(m), "--policy", "inpost-international", "--format", "github"]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    annotations = [line for line in lines if line.startswith("::")]
    assert annotations and all("A%0AB::error::x" in a for a in annotations)
    # The injected "::error::" never starts a line of its own: the newline was escaped.
    assert not any(line.startswith("B::error") for line in lines)


def test_fail_on_levels(tmp_path: Path) -> None:
    warn_only = tmp_path / "w.csv"
    # A complete, valid parcel whose only fault is a declared size A while it measures B (a warning).
    warn_only.write_text(
        "shipment_id;dispatch_at;origin_country;destination_country;delivery_type;dropoff_type;length_mm;width_mm;height_mm;"
        "weight_kg;size_category;shape;declared_value;value_currency;contents;recipient_name;recipient_phone;recipient_email;"
        "recipient_street;recipient_building;recipient_city;recipient_postcode;target_point;sender_name;sender_phone;sender_email\n"
        "W1;2025-12-01;PL;FR;locker;locker;400;300;150;3;A;box;40;EUR;Books;Camille Martin;+33 6 12 34 56 78;c@example.fr;"
        "Rue X;1;Lyon;69003;FR12345;Sklep;+48 512 345 678;s@example.pl\n", encoding="utf-8")
    report = tmp_path / "w.json"
    assert main(["check", str(warn_only), "--policy", "inpost-international", "--format", "json", "--output", str(report), "--quiet"]) == 0
    import json as _json
    found = _json.loads(report.read_text(encoding="utf-8"))["findings"]
    assert {f["severity"] for f in found} == {"warning"}, found
    assert main(["check", str(warn_only), "--policy", "inpost-international", "--quiet"]) == 0
    assert main(["check", str(warn_only), "--policy", "inpost-international", "--fail-on", "warning", "--quiet"]) == 1
    assert main(["check", str(EXAMPLE), "--policy", "inpost-international", "--fail-on", "never", "--quiet"]) == 0


def test_unreadable_manifest_exits_2_in_every_format_mode(tmp_path: Path, capsys) -> None:
    missing = str(tmp_path / "nope.csv")
    for args in (["--format", "text"], ["--format", "json"], ["--format", "html", "--output", str(tmp_path / "r.html")],
                 ["--format", "junit", "--format", "sarif", "--output-dir", str(tmp_path / "o")], ["--format", "github"]):
        assert main(["check", missing, "--policy", "inpost-international", *args]) == 2
        err = capsys.readouterr().err
        assert "nope.csv" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "r.html").exists()


def test_manifest_from_standard_input(monkeypatch, capsys) -> None:
    import io

    data = EXAMPLE.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["check", "-", "--policy", "inpost-international", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["manifest"]["rows"] == 30 and report["manifest"]["path"] == "-"
