"""The HTML report at scale: capped samples per rule, bounded size for a million-row manifest, working filters."""

from __future__ import annotations

import re
from pathlib import Path

import browser
from reports import render_html


def _synthetic_report(rows: int, failing_share: float) -> dict:
    """A report of the contract's shape, as a 1 M-row run with 5 % failing parcels would produce."""
    failing = int(rows * failing_share)
    rules = [("locker-size", "§4.1", "dimensions", "FR"), ("lane-served", "annex-2", "route", "DE"),
             ("standard-shape", "§4.11", "allowed", "NL"), ("door-size", "§4.3", "dimensions", "AT")]
    findings, shipments = [], []
    for i in range(failing):
        rid, clause, kind, country = rules[i % len(rules)]
        sid = f"S-{i:07d}"
        shipments.append({"shipment_id": sid, "row": i + 2, "status": "failed", "policy": {"family": "inpost-international", "version": "2025-11-20"},
                          "destination_country": country, "errors": 1, "warnings": 0})
        findings.append({"shipment_id": sid, "row": i + 2, "severity": "error", "rule_id": rid, "kind": kind,
                         "policy": {"family": "inpost-international", "version": "2025-11-20"},
                         "clause": {"id": clause, "title": "t", "quote": "Gabaryt „C” 191 390 x 380 x 640 25", "language": "pl", "source": "s", "document": "d"},
                         "layer": "country:AT" if country == "AT" else "base", "exception": None, "waived": None, "field": "dimensions",
                         "actual": "641 × 300 × 70 mm", "expected": "≤ 640 mm", "message": f"<b>row {i}</b> too long", "fix": "Repack.",
                         "also_cites": [], "destination_country": country})
    return {"tool": {"name": "checker", "version": "0.1.0"}, "generated_at": "2026-11-21T00:00:00Z",
            "manifest": {"path": "big.csv", "rows": rows, "dialect": {"format": "csv"}, "warnings": []},
            "policies": [{"family": "inpost-international", "version": "2025-11-20", "sha256": "0" * 64, "status": "in_force"}],
            "summary": {"shipments": rows, "passed": rows - failing, "failed": failing, "warned": 0, "errors": failing,
                        "warnings": 0, "infos": 0, "waived": 0},
            "shipments": shipments, "findings": findings}


def test_million_rows_five_percent_failing_stays_small_and_capped(tmp_path: Path) -> None:
    html = render_html(_synthetic_report(1_000_000, 0.05))
    size = len(html.encode("utf-8"))
    assert size < 25 * 1024 * 1024
    assert html.count('<tr class="f"') == 4 * 200, "each rule group shows a sample of 200"
    assert "Showing 200 of 12500; all findings are in the JSON report." in html
    assert "Showing the first 2000 of 50000 shipments" in html
    assert "<b>row 0</b>" not in html and "&lt;b&gt;row 0&lt;/b&gt;" in html
    (tmp_path / "big.html").write_text(html, encoding="utf-8")
    dom = _dump(tmp_path / "big.html", "")
    assert "sample findings shown" in dom


def _dump(path: Path, fragment: str) -> str:
    return browser.dump_dom(path.as_uri() + fragment, path.parent / "profile")


def test_filters_from_the_address_hide_other_rules(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    page.write_text(render_html(_synthetic_report(400, 0.5)), encoding="utf-8")
    dom = _dump(page, "#rule=lane-served")
    sections = re.findall(r'<section class="([^"]*)"[^>]*data-rule="([^"]+)"', dom)
    assert {rule for cls, rule in sections if "hidden" not in cls} == {"lane-served"}
    assert {rule for cls, rule in sections if "hidden" in cls} == {"locker-size", "standard-shape", "door-size"}
    assert "50 sample findings shown" in dom
    dom = _dump(page, "#country=AT&layer=country%3AAT")
    visible = {rule for cls, rule in re.findall(r'<section class="([^"]*)"[^>]*data-rule="([^"]+)"', dom) if "hidden" not in cls}
    assert visible == {"door-size"}
