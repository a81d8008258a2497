"""Rule docs (mkdocs, strict, looked at in Chromium) and the semantic diff with manifest impact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


import browser
from checker.cli import main
from checker.paths import ROOT

BIN = Path(sys.executable).parent
OLD, NEW = "inpost-international@2024-09-02", "inpost-international@2025-11-20"
COMPLETE_HEADER = ("shipment_id,dispatch_at,origin_country,destination_country,delivery_type,dropoff_type,length_mm,width_mm,height_mm,"
                   "weight_kg,shape,size_category,declared_value,value_currency,contents,recipient_name,recipient_phone,recipient_email,"
                   "recipient_street,recipient_building,recipient_city,recipient_postcode,target_point,sender_name,sender_phone,sender_email\n")


def _diff(capsys, *extra: str) -> dict:
    assert main(["diff", OLD, NEW, "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_diff_names_destinations_partner_tables_rounding_and_renumbering(capsys) -> None:
    d = _diff(capsys)
    assert d["destinations"]["added"] == ["AT", "HU"] and d["destinations"]["removed"] == []
    assert {"AT", "HU"} <= set(d["country_layers"]["added"])
    assert "locker-size" in d["rounding"]["added"]
    by = {(c["what"], c["id"]): c for c in d["changes"]}
    for rule in ("locker-size [country:AT]", "door-size [country:AT]", "locker-size [country:HU]", "door-size [country:HU]"):
        assert by[("rule", rule)]["change"] == "added", rule
    shape = by[("rule", "standard-shape")]
    assert shape["change"] == "renumbered" and shape["effect"] == "neutral" and "§4.9 → §4.11" in shape["summary"]
    assert by[("clause", "§4.11")]["change"] == "renumbered"
    assert {"PL→AT", "PL→HU"} <= set(d["lanes"]["added"])


def test_diff_of_a_version_with_itself_is_empty(capsys) -> None:
    assert main(["diff", NEW, NEW, "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["changes"] == [] and d["destinations"] == {"added": [], "removed": []} and d["prohibited_categories"] == {}


def test_manifest_impact_newly_passing_and_changed(tmp_path: Path, capsys) -> None:
    m = tmp_path / "m.csv"
    m.write_text(COMPLETE_HEADER
                 + "AT-DOOR,2025-12-01,PL,AT,door,locker,300,200,100,2,box,,80,EUR,Books,Lukas Gruber,+43 664 1234567,l@example.at,"
                   "Hauptstrasse,5,Wien,1010,,Sklep,+48 512 345 678,s@example.pl\n"
                 + "HU-POINT,2025-12-01,PL,HU,pudo,locker,300,200,100,2,box,B,80,EUR,Books,Nagy Eszter,+36 30 765 4321,e@example.hu,"
                   "Fő utca,1,Budapest,1051,HU-1,Sklep,+48 512 345 678,s@example.pl\n"
                 + "FR-OK,2025-12-01,PL,FR,locker,locker,300,200,60,1,box,A,30,EUR,Books,Camille Martin,+33 6 12 34 56 78,c@example.fr,"
                   "Rue X,1,Lyon,69003,FR1,Sklep,+48 512 345 678,s@example.pl\n", encoding="utf-8")
    d = _diff(capsys, "--manifest", str(m))
    rows = {x["shipment_id"]: x for x in d["impact"]["shipments"]}
    assert rows["AT-DOOR"]["outcome"] == "newly passing" and "lane-served" in rows["AT-DOOR"]["responsible_changes"]
    assert rows["HU-POINT"]["outcome"] == "changed"
    assert {f["rule_id"] for f in rows["HU-POINT"]["findings_new"]} == {"delivery-type-available"}
    assert {f["rule_id"] for f in rows["HU-POINT"]["findings_gone"]} == {"lane-served"}
    assert "FR-OK" not in rows
    for fmt in ("text", "md", "html"):
        assert main(["diff", OLD, NEW, "--manifest", str(m), "--format", fmt]) == 0
        assert "HU-POINT" in capsys.readouterr().out


def test_diff_json_validates_against_its_schema(capsys) -> None:
    from jsonschema import Draft202012Validator

    d = _diff(capsys)
    schema = json.loads((ROOT / "schema" / "diff.schema.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(d)) == []


def test_docs_site_builds_strictly_and_shows_the_austrian_point_table(tmp_path: Path) -> None:
    out = ROOT / "docs" / "policies"
    assert main(["docs", "--output", str(out), "--quiet"]) == 0
    page = out / "inpost-international" / "2025-11-20.md"
    assert page.exists() and (out / "index.md").exists()
    assert (out / "inpost-international" / "changes-2024-09-02-to-2025-11-20.md").exists()
    for fam in ("inpost-international", "inpost-cross-border", "e-paczka", "inpost-notices"):
        assert list((out / fam).glob("*.md")), fam
    site = tmp_path / "site"
    built = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "--quiet", "-d", str(site)], cwd=ROOT, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    html = site / "policies" / "inpost-international" / "2025-11-20" / "index.html"
    dom = browser.dump_dom(html.as_uri(), tmp_path / "profile")
    text = " ".join(dom.split())
    # The Austrian point table of § 4 ust. 3 a), with the numbers of the source.
    assert "10 × 90 × 140" in text and "80 × 380 × 610" in text and "190 × 380 × 610" in text and "370 × 380 × 610" in text
    assert "Austria Gabaryt „A” 10 x 90 x 140 80 x 380 x 610 25" in text
