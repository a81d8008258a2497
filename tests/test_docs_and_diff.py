"""Rule docs (mkdocs, strict, looked at in Chromium) and the semantic diff with manifest impact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def _impact_held_in_memory(path: Path, diff: dict, policies, refs: tuple[str, str]) -> list[dict]:
    """The impact as it was computed before it was streamed (every finding of both runs held by shipment): the oracle."""
    from checker.run import check_manifest

    by = []
    for ref in refs:
        fam, vid = ref.split("@")
        r = check_manifest(str(path), policies, family=fam, version=vid, engine_mode="rowwise")
        found: dict = {}
        for f in r.report["findings"]:
            found.setdefault((f["shipment_id"], f["row"]), []).append(f)
        by.append((found, {(s["shipment_id"], s["row"]): s["status"] for s in r.report["shipments"]}))
    (fa, sa), (fb, sb) = by
    renum = diff.get("renumbered", {})
    out = []
    for k in sorted(set(fa) | set(fb), key=lambda k: k[1]):
        before, after = sa.get(k, "passed"), sb.get(k, "passed")
        ka = {(f["rule_id"], renum.get(f["clause"]["id"], f["clause"]["id"]) if f.get("clause") else None)
              for f in fa.get(k, []) if f["kind"] != "input"}
        kb = {(f["rule_id"], (f.get("clause") or {}).get("id")) for f in fb.get(k, []) if f["kind"] != "input"}
        if before != after or ka != kb:
            ids = {rid for rid, _ in ka ^ kb}
            resp = sorted(rid for rid in ids if any(c["id"] == rid or c["id"].startswith(rid + " [") for c in diff["changes"]
                                                    if c["what"] == "rule" or c["id"].startswith(rid + " [")))
            out.append({"shipment_id": k[0], "row": k[1], "before": before, "after": after,
                        "gone": sorted(ka - kb), "new": sorted(kb - ka), "responsible": resp})
    return out


@pytest.mark.parametrize("refs", [(OLD, NEW), (NEW, OLD)], ids=["forward", "backward"])
def test_manifest_impact_streamed_over_both_reports_is_the_impact_of_every_finding_held(tmp_path: Path, monkeypatch,
                                                                                          refs: tuple[str, str]) -> None:
    """manifest_impact walks both runs' spools side by side, one shipment at a time; on a generated manifest with
    every kind of violation, checked by the columnar engine in small chunks, it lists what holding every finding of
    the row-wise engine's runs gives. Backward (the newer version first), shipments fail only under the second."""
    import generated
    from checker.diff import diff_versions, manifest_impact, resolve_ref
    from checker.loader import load_policies_cached
    from checker.paths import policies_dir
    from checker.recordlog import RecordLog

    monkeypatch.setenv("CHECKER_CHUNK_BYTES", "50000")
    policies = load_policies_cached(policies_dir())
    path = generated.manifest(tmp_path, 1500, seed=9, violation_share=0.4)
    (_, old), (_, new) = resolve_ref(policies, refs[0]), resolve_ref(policies, refs[1])
    diff = diff_versions(old, new)
    got = manifest_impact(str(path), policies, old, new, diff, engine_mode="columnar")
    assert isinstance(got["shipments"], RecordLog)  # spooled: a 10 M-row manifest has 1.3 M changed shipments
    want = _impact_held_in_memory(path, diff, policies, refs)
    assert [{"shipment_id": x["shipment_id"], "row": x["row"], "before": x["before"], "after": x["after"],
             "gone": [(f["rule_id"], f["clause"]) for f in x["findings_gone"]],
             "new": [(f["rule_id"], f["clause"]) for f in x["findings_new"]],
             "responsible": x["responsible_changes"]} for x in got["shipments"]] == want
    assert len(want) > 100 and {x["outcome"] for x in got["shipments"]} >= {"changed", "newly passing" if refs[0] == OLD else "newly failing"}
    assert got["rows"] == 1500
    per_rule: dict = {}
    for x in want:
        for rid in x["responsible"]:
            per_rule[rid] = per_rule.get(rid, 0) + 1
    assert {r["rule_id"]: r["shipments"] for r in got["by_rule"]} == per_rule
    assert all(r["shipments"] == r["newly failing"] + r["newly passing"] + r["changed"] for r in got["by_rule"])
    assert [r["shipments"] for r in got["by_rule"]] == sorted(per_rule.values(), reverse=True)


def test_diff_json_has_one_impact_shipment_a_line_and_reads_back_the_same(tmp_path: Path) -> None:
    from checker.recordlog import RecordLog
    from reports.diff_render import render_diff_json
    from reports.json_layout import PLACEHOLDER

    ships = [{"shipment_id": 'A "quoted"\nid', "row": 2, "outcome": "changed", "findings_new": []},
             {"shipment_id": "Zażółć", "row": 9, "outcome": "newly passing", "findings_new": [{"rule_id": "x", "clause": "§1"}]}]
    d = {"family": "f", "changes": [{"id": "x", "note": "\x00shipments\x00", "other": PLACEHOLDER[:-1]}], "impact": {"rows": 9, "shipments": ships}}
    text = render_diff_json(d)
    assert json.loads(text) == d
    lines = text.splitlines()
    compact = [json.dumps(s, ensure_ascii=False, separators=(",", ":")) for s in ships]  # as the check report's findings
    assert [line for line in lines if line.startswith('{"shipment_id"')] == [compact[0] + ",", compact[1]]
    plain = {**d, "impact": {"rows": 9, "shipments": []}}
    assert render_diff_json(plain) == json.dumps(plain, ensure_ascii=False, indent=2) + "\n"
    spooled = RecordLog()  # as manifest_impact hands them over: copied from the spool, the same document
    for x in ships:
        spooled.append(x)
    assert render_diff_json({**d, "impact": {"rows": 9, "shipments": spooled}}) == text
    spooled.close()


def test_the_html_and_markdown_impact_list_the_first_shipments_and_count_them_all(tmp_path: Path, capsys, monkeypatch) -> None:
    """A page lists diff_render.SHOWN shipments and says how many it leaves to the JSON; the rule table counts every one.
    The JSON lists every shipment and validates against its schema, rule table included."""
    from jsonschema import Draft202012Validator

    from reports import diff_render

    monkeypatch.setattr(diff_render, "SHOWN", 3)
    d = _diff(capsys, "--manifest", str(ROOT / "examples" / "manifest.csv"))
    schema = json.loads((ROOT / "schema" / "diff.schema.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(d)) == []
    ships, top = d["impact"]["shipments"], d["impact"]["by_rule"][0]
    assert len(ships) > 3 and top["shipments"] == sum(top["rule_id"] in x["responsible_changes"] for x in ships)
    for fmt in ("html", "md"):
        assert main(["diff", OLD, NEW, "--manifest", str(ROOT / "examples" / "manifest.csv"), "--format", fmt]) == 0
        page = capsys.readouterr().out
        assert f"The first 3 of {len(ships)} shipments" in page
        assert [x["shipment_id"] in page for x in ships] == [True] * 3 + [False] * (len(ships) - 3)
        assert top["rule_id"] in page and str(top["shipments"]) in page
        if fmt == "html":  # counts and rows right-aligned, so their digits line up; ids unbroken
            assert f'<td class="n">{top["shipments"]}</td>' in page and f'<td class="n">{ships[0]["row"]}</td><td class="id">' in page
    assert main(["diff", OLD, NEW, "--manifest", str(ROOT / "examples" / "manifest.csv"), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert all(x["shipment_id"] in text for x in ships) and f"  {top['rule_id']}: {top['shipments']} shipments" in text


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_diff_streamed_into_a_file_is_what_it_prints(tmp_path: Path, capsys, monkeypatch, fmt: str) -> None:
    """JSON and text are written from the impact's spool, into --output or standard output alike; the spool holds more
    than its memory part, so the copy comes from a file."""
    from checker import recordlog

    monkeypatch.setattr(recordlog, "SPOOL_BYTES", 256)
    args = ["diff", OLD, NEW, "--manifest", str(ROOT / "examples" / "manifest.csv"), "--format", fmt]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert main([*args, "--output", str(tmp_path / f"d.{fmt}")]) == 0
    assert (tmp_path / f"d.{fmt}").read_text(encoding="utf-8") == printed
    if fmt == "json":
        ships = json.loads(printed)["impact"]["shipments"]
        assert len(ships) == 15 and [x["row"] for x in ships] == sorted(x["row"] for x in ships)
    else:
        assert printed.count("\n  row ") == 15 and printed.endswith("\n")

