"""The JSON report honours schema/report.schema.json; the HTML report shows clause id and quote in a real browser."""

from __future__ import annotations

import html as html_lib
import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

import browser
from checker.cli import main
from checker.paths import ROOT, schema_dir

CHECKER = str(Path(sys.executable).parent / "checker")
EXAMPLE = ROOT / "examples" / "manifest.csv"


def _report(tmp_path: Path, manifest: Path, *extra: str) -> dict:
    out = tmp_path / "r.json"
    code = main(["check", str(manifest), "--policy", "inpost-international", "--format", "json", "--output", str(out), "--quiet", *extra])
    assert code in (0, 1)
    return json.loads(out.read_text(encoding="utf-8"))


def test_example_report_validates_against_the_report_schema(tmp_path: Path) -> None:
    report = _report(tmp_path, EXAMPLE)
    schema = json.loads((schema_dir() / "report.schema.json").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(report))
    assert errors == []
    s = report["summary"]
    assert s["shipments"] == report["manifest"]["rows"] == 30
    assert s["passed"] + s["failed"] + s["warned"] == s["shipments"]
    assert len(report["shipments"]) == s["failed"] + s["warned"]
    assert s["errors"] == sum(1 for f in report["findings"] if f["severity"] == "error")


def test_report_schema_rejects_a_finding_without_clause(tmp_path: Path) -> None:
    """The schema is not vacuous: a rule finding must carry its citation."""
    report = _report(tmp_path, EXAMPLE)
    rule_finding = next(f for f in report["findings"] if f["kind"] == "dimensions")
    rule_finding["clause"] = None
    schema = json.loads((schema_dir() / "report.schema.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(report))


def test_every_format_agrees_on_counts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["check", str(EXAMPLE), "--policy", "inpost-international", "--format", "json", "--format", "html",
                 "--format", "text", "--output-dir", str(out), "--quiet"])
    assert code == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    html = (out / "report.html").read_text(encoding="utf-8")
    text = (out / "report.txt").read_text(encoding="utf-8")
    s = report["summary"]
    assert f"{s['failed']} of {s['shipments']} shipments" in html
    assert f"failed {s['failed']}" in text
    assert not list(out.glob(".*.tmp")), "temporary files must not be left behind"


def test_html_report_in_headless_chromium_shows_clause_and_quote(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "shipment_id;dispatch_at;origin_country;destination_country;delivery_type;length_mm;width_mm;height_mm;weight_kg;recipient_name\n"
        "AT-POINT-1;2025-12-01;PL;AT;pudo;620;300;70;5;<script>document.title='pwned'</script>\n"
        "AT-DOOR-1;2025-12-01;PL;AT;door;620;300;70;5;Anna\n", encoding="utf-8")
    html_path = tmp_path / "report.html"
    code = main(["check", str(manifest), "--policy", "inpost-international", "--format", "html", "--output", str(html_path), "--quiet"])
    assert code == 1
    rendered = browser.dump_dom(html_path.as_uri(), tmp_path / "profile")
    assert "§4.3" in rendered
    assert "Austria Gabaryt „A” 10 x 90 x 140 80 x 380 x 610 25" in " ".join(rendered.split())
    assert "AT-POINT-1" in rendered
    assert "<title>Manifest check" in rendered and "pwned" not in rendered.split("</title>")[0]
    # The filter script ran: it writes a status line.
    assert "sample findings shown" in rendered
    shot = tmp_path / "report.png"
    browser.run(html_path.as_uri(), tmp_path / "profile", "--window-size=1280,1600", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000


_LAYOUT_PROBE = """<script nonce="{nonce}">
window.addEventListener("load", () => {
  const wrapped = [...document.querySelectorAll("th")].filter(th => th.getClientRects().length &&
    th.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(th).lineHeight || "16") + 10).map(th => th.textContent);
  const wide = [...document.querySelectorAll("table")].filter(t => t.getClientRects().length &&
    t.getBoundingClientRect().width > t.parentElement.getBoundingClientRect().width + 1).length;
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({wrapped, wide, headers: document.querySelectorAll("th").length});
  document.body.appendChild(out);
});
</script>"""


def test_html_tables_keep_headers_on_one_line_and_long_cells_inside_the_page(tmp_path: Path) -> None:
    """Headers used to break letter by letter ("Ro w", "Countr y"); a 300-digit phone must wrap, not widen the table."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "shipment_id;dispatch_at;origin_country;destination_country;delivery_type;length_mm;width_mm;height_mm;weight_kg;"
        "recipient_phone;shape\n"
        f"LONG-1;2025-12-01;PL;ES;pudo;620;300;70;5;+48{'9' * 300};irregular\n"
        "AT-POINT-1;2025-12-01;PL;AT;pudo;620;300;70;5;+43 664 1234567;box\n", encoding="utf-8")
    html_path = tmp_path / "report.html"
    assert main(["check", str(manifest), "--policy", "inpost-international", "--format", "html", "--output", str(html_path),
                 "--quiet"]) == 1
    probe = tmp_path / "probe.html"
    html = html_path.read_text(encoding="utf-8")
    nonce = html.split('<script nonce="')[1].split('"')[0]  # the report's CSP admits only its own script nonce
    probe.write_text(html.replace("</body>", _LAYOUT_PROBE.replace("{nonce}", nonce) + "</body>"), encoding="utf-8")
    rendered = browser.dump_dom(probe.as_uri(), tmp_path / "profile", "--window-size=1280,1600")
    layout = json.loads(html_lib.unescape(rendered.split('<pre id="layout">')[1].split("</pre>")[0]))
    assert layout["headers"] > 8
    assert layout["wrapped"] == []
    assert layout["wide"] == 0
