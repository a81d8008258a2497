"""Findings read back from their spool (checker/finding_lines.py) and the report formats that stream them
(reports/ci.py, reports/render.py): the same findings as json.loads gives, in bounded memory."""

from __future__ import annotations

import io
import json
import tracemalloc
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from checker import finding_lines, recordlog
from checker.findings import Finding, input_finding
from checker.recordlog import RecordLog
from reports import group_findings, render_html, render_text
from reports.ci import _per_shipment, render_github, render_junit, render_sarif, write_github, write_junit, write_sarif

ODD = ',"destination_country":"XX","fix":"f","field":"g","severity":"h","rule_id":"r"'
CLAUSE = {"id": "§4.1", "title": "Gabaryty", "quote": "Gabaryt „C” 41 x 38 x 64 " + ODD, "language": "pl", "source": "002.txt"}
POLICY = {"family": "inpost-international", "version": "2025-11-20"}


def _finding(k: int, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(shipment_id=f"S-{k}", row=k + 2, severity="error", rule_id="size-limit", kind="dimensions",
                                message=f"too long {k}", field="length_mm", actual=700 + k, expected="≤ 640 mm",
                                fix="Use a larger category.", clause=CLAUSE, policy=POLICY, layer="base",
                                also_cites=[{"id": "§2", "quote": "x" * 400}], country="PL")
    base.update(kw)
    return Finding(**base).to_dict()


FINDINGS = [
    _finding(0),
    _finding(1, shipment_id='a,"row":9', message=ODD, expected=ODD, actual=[ODD, 1.5, None], country=None),
    _finding(2, shipment_id="Łódź\\1\u2028", message='tab\there, quote " and ,"', severity="warning",
             waived={"id": "W-1", "reason": "agreed", "owner": "ops", "expires": "2026-12-31"}),
    input_finding("S-3", 5, "weight_kg", "invalid-number", "weight_kg 'x\ud83d' is no number", actual="x\ud83d").to_dict(),
    _finding(4, severity="info", exception={"country": "AT", "clause": "annex-4.AT"}, layer="country exception"),
    _finding(5, actual=2**70 + 1, expected="1e400"),  # orjson would read the integer as a float
    _finding(6, shipment_id="S-6\udc00", actual=float("nan"), country="P\ud800"),  # orjson refuses these escapes
]


def _spool(records: list[dict[str, Any]], large: bool = False) -> RecordLog:
    log = RecordLog(large=large)
    log.append_lines(recordlog.dumps(r) for r in records)
    return log


def test_a_finding_line_decodes_as_json_loads_does_key_order_included() -> None:
    reader = finding_lines.Reader()
    log = _spool(FINDINGS * 3)
    for raw, expected in zip(log.lines(), FINDINGS * 3):
        got = reader.decode(raw)
        assert got == json.loads(raw) and list(got) == list(json.loads(raw))
        assert got == json.loads(json.dumps(expected))  # the lone surrogate came back as the same character
    cached = len(reader._runs)  # each rule's two runs once, however many findings it has
    assert cached <= 2 * len(FINDINGS) and [reader.decode(recordlog.dumps(f)) for f in FINDINGS] == FINDINGS
    assert len(reader._runs) == cached
    assert list(finding_lines.records(log)) == list(log) and list(finding_lines.records(FINDINGS)) == FINDINGS


@pytest.mark.parametrize("text", ["12345678901234567890123", "-9223372036854775809", '"\\ud800"', "NaN", "-Infinity",
                                  "1e400", '{"a":[1,2.5,"x\\u00e9"],"b":null}', '"Łódź"'])
def test_record_lines_load_as_json_loads_them(text: str) -> None:
    got, want = recordlog.loads(text), json.loads(text)
    assert repr(got) == repr(want) and type(got) is type(want)
    assert repr(recordlog.loads(text.encode("utf-8"))) == repr(want)


def test_a_line_of_another_shape_is_decoded_whole_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = finding_lines.Reader()
    assert reader.decode(b'{"shipment_id":"S","row":2}') == {"shipment_id": "S", "row": 2}
    monkeypatch.setattr(finding_lines, "_CACHED_RUNS", 3)
    many = [_finding(k, fix=f"fix {k}", rule_id=f"r{k}") for k in range(10)]
    assert [reader.decode(recordlog.dumps(f)) for f in many] == many
    assert len(reader._runs) == 3


def test_each_shipment_gets_its_own_findings_even_out_of_row_order() -> None:
    fs = [{"shipment_id": s, "row": r, "n": n} for n, (s, r) in enumerate([("A", 2), ("A", 2), ("B", 3), ("D", 5), ("C", 4), ("D", 5)])]
    of = _per_shipment(iter(fs))
    assert [f["n"] for f in of(("A", 2))] == [0, 1]
    assert [f["n"] for f in of(("B", 3))] == [2]
    assert [f["n"] for f in of(("C", 4))] == [4]  # D's first finding waited
    assert [f["n"] for f in of(("D", 5))] == [3] and [f["n"] for f in of(("D", 5))] == [5]
    assert of(("E", 6)) == []


def _report(findings: Any, shipments: Any) -> dict[str, Any]:
    errors = sum(f["severity"] == "error" and not f["waived"] for f in FINDINGS)
    return {"tool": {"name": "checker", "version": "0"}, "generated_at": "2026-11-23T00:00:00Z", "manifest": {"path": "m.csv", "rows": 9, "dialect": {}, "warnings": []},
            "policies": [], "summary": {"shipments": 9, "passed": 4, "failed": 3, "warned": 2, "errors": errors, "warnings": 1,
                                        "infos": 1, "waived": 1},
            "shipments": shipments, "findings": findings}


SHIPMENTS = [{"shipment_id": f["shipment_id"], "row": f["row"]} for f in FINDINGS]


def test_every_format_reads_the_spool_as_it_reads_a_list() -> None:
    """The same report from a spool of lines and from a list of dicts renders the same (the renderers took lists
    before; the CLI gives them spools)."""
    as_list = _report(FINDINGS, SHIPMENTS)
    spooled = _report(_spool(FINDINGS), _spool(SHIPMENTS))
    passed = [("P-1", 3), ("P-0", 1), ("P-9", 99)]
    assert render_junit(spooled, sorted(passed, key=lambda x: x[1])) == render_junit(as_list, sorted(passed, key=lambda x: x[1]))
    assert render_sarif(spooled) == render_sarif(as_list)
    assert render_github(spooled) == render_github(as_list)
    assert render_text(spooled) == render_text(as_list)
    assert group_findings(spooled) == group_findings(as_list)
    strip = lambda html: html.split("nonce", 1)[0]  # noqa: E731 - the rest differs by its random nonce only
    assert strip(render_html(spooled)) == strip(render_html(as_list))


def test_junit_lists_every_shipment_in_row_order_with_its_findings() -> None:
    passed = [("P-0", 1), ("P-1", 3), ("P-9", 99)]
    root = ElementTree.fromstring(render_junit(_report(_spool(FINDINGS), _spool(SHIPMENTS)), passed))
    cases = list(root.iter("testcase"))
    rows = [int(c.get("name").split(":")[0].removeprefix("row ")) for c in cases]
    assert rows == sorted(rows) == [1, 2, 3, 3, 4, 5, 6, 7, 8, 99]
    by_name = {c.get("name"): c for c in cases}
    assert "too long 0" in by_name["row 2: S-0"].find("failure").text
    assert ODD in by_name['row 3: a,"row":9'].find("failure").get("message")
    waived = by_name["row 4: Łódź\\1\u2028"]
    assert waived.find("failure") is None and "warning (waived) size-limit" in waived.find("system-out").text
    assert "x\\ud83d" in by_name["row 5: S-3"].find("failure").text  # a lone surrogate is no XML character: its escape
    assert by_name["row 6: S-4"].find("failure") is None and by_name["row 1: P-0"].find("system-out") is None


def test_junit_shows_characters_xml_cannot_carry_as_escapes() -> None:
    f = _finding(0, shipment_id="S\x1b[2J\x00", message="bell\x07 \ufffe")
    root = ElementTree.fromstring(render_junit(_report([f], [{"shipment_id": f["shipment_id"], "row": 2}])))
    case = next(root.iter("testcase"))
    assert case.get("name") == "row 2: S\\x1b[2J\\x00"
    assert "bell\\x07 \\ufffe" in case.find("failure").text


class _Discard(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


@pytest.mark.parametrize("fmt", ["junit", "sarif", "github"])
def test_ci_formats_of_a_large_spool_hold_no_findings_in_memory(fmt: str) -> None:
    """20 000 findings of ~1.6 kB (a 100 000-row run's worth) rendered with the Python heap's peak under 8 MB: as
    lists of dicts they took ~100 MB, and a million-row run's JUnit report took 2.4 GB (2026-11-23)."""
    n = 20_000
    findings = _spool([_finding(k) for k in range(n)], large=True)
    shipments = _spool([{"shipment_id": f"S-{k}", "row": k + 2} for k in range(n)], large=True)
    report = _report(findings, shipments)
    writer = {"junit": lambda out: write_junit(report, [], out), "sarif": lambda out: write_sarif(report, out),
              "github": lambda out: write_github(report, out)}[fmt]
    tracemalloc.start()
    try:
        writer(_Discard())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{fmt}: peak {peak / 2**20:.1f} MiB"
    out = io.StringIO()
    writer(out)
    text = out.getvalue()
    per = 2 if fmt == "junit" else 1  # JUnit names the first error in the failure's message too
    assert text.count("too long") == per * n and "too long 19999" in text
