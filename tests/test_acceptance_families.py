"""Acceptance of the other families, currency rates, agreements and waivers, through the CLI and every format."""

from __future__ import annotations

import json
from pathlib import Path

from junitparser import JUnitXml

from checker.cli import main
from checker.paths import ROOT

EX = ROOT / "examples"


def _json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_list_shows_four_families_with_cross_border_withdrawn(capsys) -> None:
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["family"] for r in rows} == {"inpost-international", "inpost-cross-border", "e-paczka", "inpost-notices"}
    assert next(r for r in rows if r["family"] == "inpost-cross-border")["status"] == "withdrawn"


def test_cross_border_acceptance_row(tmp_path: Path, capsys) -> None:
    m = tmp_path / "cb.csv"
    m.write_text("shipment_id;dispatch_at;origin_country;destination_country;delivery_type;length_mm;width_mm;height_mm;weight_kg;"
                 "declared_value;value_currency;recipient_name;recipient_street;recipient_city;recipient_phone;target_point\n"
                 "CB-1;2016-03-01T10:00;PL;DE;locker;700;300;200;5;6000;PLN;Anna Schmidt;P.O. Box 123;Berlin;+49 151 23456789;BER01M\n",
                 encoding="utf-8")
    code, report = _json(capsys, str(m), "--policy", "inpost-cross-border")
    assert code == 1
    cited = {f["clause"]["id"] for f in report["findings"] if f.get("clause")}
    assert {"§3.4", "§3.1", "§7.9", "§9.4", "withdrawal"} <= cited


def test_cross_border_insurance_threshold_depends_on_the_rate(tmp_path: Path, capsys) -> None:
    m = tmp_path / "eur.csv"
    m.write_text("shipment_id;dispatch_at;origin_country;destination_country;delivery_type;length_mm;width_mm;height_mm;weight_kg;"
                 "declared_value;value_currency;recipient_name;recipient_street;recipient_city;recipient_phone;target_point\n"
                 "CB-2;2016-03-01T10:00;PL;FR;locker;400;300;200;5;300;EUR;Camille Martin;Rue X 1;Paris;+33 6 12 34 56 78;PAR02A\n",
                 encoding="utf-8")
    low, high = tmp_path / "low.yaml", tmp_path / "high.yaml"
    low.write_text("base: PLN\nrates: {EUR: 0.5}\n", encoding="utf-8")
    high.write_text("base: PLN\nrates: {EUR: 4.3}\n", encoding="utf-8")

    def insurance(*extra: str) -> list[dict]:
        _, report = _json(capsys, str(m), "--policy", "inpost-cross-border", *extra)
        return [f for f in report["findings"] if (f.get("clause") or {}).get("id") == "§7.9"]

    assert insurance("--rates", str(low)) == []
    assert [f["severity"] for f in insurance("--rates", str(high))] == ["error"]
    missing = insurance()
    assert missing and all(f["severity"] == "warning" and "EUR→PLN" in f["message"] for f in missing)


def test_e_paczka_pallet_and_insurance_with_consumer_carve_out(tmp_path: Path, capsys) -> None:
    m = tmp_path / "ep.csv"
    head = ("shipment_id;dispatch_at;origin_country;destination_country;delivery_type;length_mm;width_mm;height_mm;weight_kg;"
            "declared_value;value_currency;sender_is_consumer;recipient_name;recipient_street;recipient_building;recipient_city;"
            "recipient_postcode;recipient_phone\n")
    m.write_text(head
                 + "EP-1;2025-12-01;PL;PL;door;600;400;400;35;50;PLN;false;Jan Nowak;Długa;5;Kraków;31-042;+48 512 345 678\n"
                 + "EP-2;2025-12-01;PL;PL;door;300;200;100;2;150;PLN;false;Jan Nowak;Długa;5;Kraków;31-042;+48 512 345 678\n"
                 + "EP-3;2025-12-01;PL;PL;door;300;200;100;2;150;PLN;true;Jan Nowak;Długa;5;Kraków;31-042;+48 512 345 678\n",
                 encoding="utf-8")
    code, report = _json(capsys, str(m), "--policy", "e-paczka")
    assert code == 1
    by = {}
    for f in report["findings"]:
        by.setdefault(f["shipment_id"], []).append(f)
    assert any("pallet" in f["message"].lower() and f["clause"]["id"] == "§2.8" for f in by["EP-1"])
    assert any(f["clause"]["id"] == "§10.2" and f["severity"] == "error" for f in by["EP-2"])
    assert not any((f.get("clause") or {}).get("id") == "§10.2" for f in by.get("EP-3", []))


def test_maintenance_notice_overlay_by_the_hour(tmp_path: Path, capsys) -> None:
    m = tmp_path / "n.csv"
    m.write_text("shipment_id;service;dispatch_at;origin_country;destination_country;delivery_type\n"
                 "N-1;inpost-international;2022-06-04T10:00;PL;AT;door\nN-2;inpost-international;2022-06-04T18:30;PL;AT;door\n",
                 encoding="utf-8")
    _, report = _json(capsys, str(m))
    notice = {f["shipment_id"] for f in report["findings"] if (f.get("policy") or {}).get("family") == "inpost-notices"}
    assert notice == {"N-1"}
    assert all(f["layer"].startswith("overlay:") for f in report["findings"] if (f.get("policy") or {}).get("family") == "inpost-notices")


def test_agreement_lifts_the_cross_border_value_limit_citing_the_contract(tmp_path: Path, capsys) -> None:
    m = EX / "cross-border.csv"
    _, without = _json(capsys, str(m), "--policy", "inpost-cross-border", "--rates", str(EX / "rates.yaml"))
    _, with_agreement = _json(capsys, str(m), "--policy", "inpost-cross-border", "--rates", str(EX / "rates.yaml"),
                              "--agreement", str(EX / "agreement.yaml"))
    limit = lambda r: [f for f in r["findings"] if f["rule_id"] == "value-limit" and f["shipment_id"] == "CB-001"]  # noqa: E731
    assert limit(without) and not limit(with_agreement)
    assert with_agreement["options"]["agreement"]["id"] == "UMOWA-2016-042"


def test_waivers_are_shown_and_counted_in_every_format(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["check", str(EX / "manifest.csv"), "--policy", "inpost-international", "--waivers", str(EX / "waivers.yaml"),
                 "--format", "json", "--format", "html", "--format", "junit", "--format", "sarif", "--format", "text",
                 "--output-dir", str(out), "--quiet"])
    assert code == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    waived = [f for f in report["findings"] if f["waived"]]
    assert [f["waived"]["id"] for f in waived] == ["W-2025-017"] and report["summary"]["waived"] == 1
    assert "expired waivers not applied: W-2024-003" in report["manifest"]["warnings"]
    assert "waived W-2025-017" in (out / "report.html").read_text(encoding="utf-8")
    assert "1 waived" in (out / "report.txt").read_text(encoding="utf-8")
    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    assert sum(1 for r in sarif["runs"][0]["results"] if r.get("suppressions")) == 1
    xml = JUnitXml.fromfile(str(out / "report.junit.xml"))
    assert any("(waived)" in (c.system_out or "") for suite in xml for c in suite)
    # The waived shipment no longer fails for that rule: ZAM-2025-0015 had only the declared-size warning.
    assert all(s["shipment_id"] != "ZAM-2025-0015" or s["status"] == "passed" for s in report["shipments"])


def test_versions_are_picked_by_dispatch_date(tmp_path: Path, capsys) -> None:
    """PL→AT door: 2025-11-19 falls under 2024-09-02 (Austria not served), 2025-11-20 under 2025-11-20; 2024-01-15 under none."""
    m = tmp_path / "d.csv"
    row = (";PL;AT;door;locker;300;200;100;2;box;80;EUR;Books;Lukas Gruber;+43 664 1234567;l@example.at;Hauptstrasse;5;Wien;1010;"
           "Sklep;+48 512 345 678;s@example.pl\n")
    m.write_text("shipment_id;dispatch_at;origin_country;destination_country;delivery_type;dropoff_type;length_mm;width_mm;height_mm;"
                 "weight_kg;shape;declared_value;value_currency;contents;recipient_name;recipient_phone;recipient_email;recipient_street;"
                 "recipient_building;recipient_city;recipient_postcode;sender_name;sender_phone;sender_email\n"
                 + "D-19;2025-11-19T12:00" + row + "D-20;2025-11-20T12:00" + row + "D-OLD;2024-01-15" + row, encoding="utf-8")
    _, report = _json(capsys, str(m), "--policy", "inpost-international")
    by: dict[str, list[dict]] = {}
    for f in report["findings"]:
        by.setdefault(f["shipment_id"], []).append(f)
    assert any(f["rule_id"] == "lane-served" and f["policy"]["version"] == "2024-09-02" for f in by["D-19"])
    assert "D-20" not in by
    assert [f["rule_id"] for f in by["D-OLD"]] == ["no-version-in-force"]


def test_findings_link_to_their_rule_docs(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert main(["check", str(EX / "manifest.csv"), "--policy", "inpost-international", "--docs-url", "https://docs.example/policies",
                 "--format", "html", "--format", "sarif", "--output-dir", str(out), "--quiet"]) == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'href="https://docs.example/policies/inpost-international/2025-11-20/#locker-size"' in html
    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    uris = {r.get("helpUri") for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert "https://docs.example/policies/inpost-international/2025-11-20/#lane-served" in uris
