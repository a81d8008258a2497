"""Rule docs (mkdocs, strict, looked at in Chromium) and the semantic diff with manifest impact."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli import main
from checker.paths import ROOT

BIN = Path(sys.executable).parent
BASE_FILES = ("policy.yaml", "annex-02-lanes.yaml", "annex-08a-door-delivery.yaml")


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> Path:
    """A policy tree with the real 2025-11-20 core and a 2024 variant without partners, rounding, and § 4.9 shapes."""
    root = tmp_path_factory.mktemp("pol")
    shutil.copy(ROOT / "policies" / "categories.yaml", root / "categories.yaml")
    src = ROOT / "policies" / "inpost-international"
    fam = root / "inpost-international"
    (fam / "2025-11-20" / "countries").mkdir(parents=True)
    shutil.copy(src / "family.yaml", fam / "family.yaml")
    for name in BASE_FILES:
        shutil.copy(src / "2025-11-20" / name, fam / "2025-11-20" / name)
    for c in ("AT", "HU"):
        shutil.copy(src / "2025-11-20" / "countries" / f"{c}.yaml", fam / "2025-11-20" / "countries" / f"{c}.yaml")
    old = fam / "2024-01-01"
    old.mkdir()
    text = (fam / "2025-11-20" / "policy.yaml").read_text(encoding="utf-8")
    (fam / "2025-11-20" / "policy.yaml").write_text(
        text.replace("supersedes: null", 'supersedes: "2024-01-01"').replace('  - id: "§4.11"\n', '  - id: "§4.11"\n    renumbered_from: "§4.9"\n'),
        encoding="utf-8")
    (old / "policy.yaml").write_text(
        text.replace('version: "2025-11-20"', 'version: "2024-01-01"').replace("effective_from: 2025-11-20", "effective_from: 2024-01-01")
        .replace('"§4.11"', '"§4.9"').replace('    rounding: half_up\n    rounding_clause: "§4.4"\n', ""), encoding="utf-8")
    lanes = (fam / "2025-11-20" / "annex-02-lanes.yaml").read_text(encoding="utf-8")
    (old / "annex-02-lanes.yaml").write_text(lanes.replace(", AT: 3, HU: 3}", "}"), encoding="utf-8")
    door = (fam / "2025-11-20" / "annex-08a-door-delivery.yaml").read_text(encoding="utf-8")
    (old / "annex-08a-door-delivery.yaml").write_text(door.replace("      AT: [locker, pudo, door]\n      HU: [locker, pudo, door]\n", ""), encoding="utf-8")
    assert main(["--policies", str(root), "validate", "--quiet"]) == 0
    return root


def _diff(root: Path, capsys, *extra: str) -> dict:
    assert main(["--policies", str(root), "diff", "inpost-international@2024-01-01", "inpost-international@2025-11-20", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_diff_names_destinations_partner_tables_rounding_and_renumbering(two_versions: Path, capsys) -> None:
    d = _diff(two_versions, capsys)
    assert d["destinations"]["added"] == ["AT", "HU"] and d["destinations"]["removed"] == []
    by = {(c["what"], c["id"]): c for c in d["changes"]}
    assert by[("rule", "locker-size [country:AT]")]["change"] == "added"
    assert by[("rule", "door-size [country:HU]")]["change"] == "added"
    rounding = by[("rule", "locker-size")]
    assert rounding["effect"] == "looser" and any(x["path"] == "rounding" and x["after"] == "half_up" for x in rounding["details"])
    shape = by[("rule", "standard-shape")]
    assert shape["change"] == "renumbered" and shape["effect"] == "neutral" and "§4.9 → §4.11" in shape["summary"]
    assert by[("clause", "§4.11")]["change"] == "renumbered"
    assert d["lanes"]["added"] == ["PL→AT", "PL→HU"]


def test_diff_of_a_version_with_itself_is_empty(two_versions: Path, capsys) -> None:
    assert main(["--policies", str(two_versions), "diff", "inpost-international@2025-11-20", "inpost-international@2025-11-20", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["changes"] == [] and d["destinations"] == {"added": [], "removed": []}


def test_manifest_impact_newly_passing_and_changed(two_versions: Path, tmp_path: Path, capsys) -> None:
    m = tmp_path / "m.csv"
    m.write_text("shipment_id,dispatch_at,origin_country,destination_country,delivery_type,length_mm,width_mm,height_mm,weight_kg\n"
                 "AT-DOOR,2025-12-01,PL,AT,door,300,200,100,2\n"
                 "HU-POINT,2025-12-01,PL,HU,pudo,300,200,100,2\n"
                 "FR-OK,2025-12-01,PL,FR,locker,300,200,60,1\n", encoding="utf-8")
    d = _diff(two_versions, capsys, "--manifest", str(m))
    rows = {x["shipment_id"]: x for x in d["impact"]["shipments"]}
    assert rows["AT-DOOR"]["outcome"] == "newly passing" and "lane-served" in rows["AT-DOOR"]["responsible_changes"]
    assert rows["HU-POINT"]["outcome"] == "changed"
    assert {f["rule_id"] for f in rows["HU-POINT"]["findings_new"]} == {"delivery-type-available"}
    assert {f["rule_id"] for f in rows["HU-POINT"]["findings_gone"]} == {"lane-served"}
    assert "FR-OK" not in rows
    for fmt in ("text", "md", "html"):
        assert main(["--policies", str(two_versions), "diff", "inpost-international@2024-01-01", "inpost-international@2025-11-20",
                     "--manifest", str(m), "--format", fmt]) == 0
        assert "HU-POINT" in capsys.readouterr().out


def test_diff_json_validates_against_its_schema(two_versions: Path, capsys) -> None:
    from jsonschema import Draft202012Validator

    d = _diff(two_versions, capsys)
    schema = json.loads((ROOT / "schema" / "diff.schema.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(d)) == []


def test_docs_site_builds_strictly_and_shows_the_austrian_point_table(tmp_path: Path) -> None:
    out = ROOT / "docs" / "policies"
    assert main(["docs", "--output", str(out), "--quiet"]) == 0
    page = out / "inpost-international" / "2025-11-20.md"
    assert page.exists() and (out / "index.md").exists()
    site = tmp_path / "site"
    built = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "--quiet", "-d", str(site)], cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    html = site / "policies" / "inpost-international" / "2025-11-20" / "index.html"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.fail("Chromium is needed for the browser test: `apt-get install chromium` (.ci/run does this).")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0
    text = " ".join(dom.stdout.split())
    # The Austrian point table of § 4 ust. 3 a), with the numbers of the source.
    assert "10 × 90 × 140" in text and "80 × 380 × 610" in text and "190 × 380 × 610" in text and "370 × 380 × 610" in text
    assert "Austria Gabaryt „A” 10 x 90 x 140 80 x 380 x 610 25" in text
