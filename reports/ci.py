"""Formats that pipelines read: JUnit XML, SARIF 2.1.0 and GitHub workflow annotations.

All three are derived from the same report dict as text/JSON/HTML, so the counts agree.
JUnit has one testcase per shipment (passing ones too), one <failure> per failed shipment
listing each error finding with its clause.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Iterable

from checker import __version__

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _cite(f: dict[str, Any]) -> str:
    c = f.get("clause")
    if not c:
        return ""
    pol = f.get("policy") or {}
    return f" [{pol.get('family')}@{pol.get('version')} {c['id']}: \"{' '.join(c['quote'].split())}\"]"


def _xml_text(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped; drop them (manifest text is untrusted)."""
    from xml.sax.saxutils import escape  # imported when JUnit is written: it pulls in urllib (~25 ms at start-up)

    return escape("".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20))


def _attr(text: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr("".join(ch for ch in str(text) if ch in "\t\n\r" or ord(ch) >= 0x20))


def render_junit(report: dict[str, Any], passed: Iterable[tuple[str, int]] = ()) -> str:
    by_ship: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for f in report["findings"]:
        by_ship[(f["shipment_id"], f["row"])].append(f)
    s = report["summary"]
    path = report["manifest"]["path"]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="checker" tests="{s["shipments"]}" failures="{s["failed"]}" errors="0">',
           f'  <testsuite name={_attr("manifest " + path)} tests="{s["shipments"]}" failures="{s["failed"]}" errors="0" skipped="0" timestamp={_attr(report["generated_at"])}>']
    for ship in report["shipments"]:
        fs = by_ship[(ship["shipment_id"], ship["row"])]
        name = f"row {ship['row']}: {ship['shipment_id']}"
        out.append(f'    <testcase classname={_attr(path)} name={_attr(name)}>')
        errors = [f for f in fs if f["severity"] == "error" and not f.get("waived")]
        if errors:
            first = errors[0]
            msg = f"{len(errors)} error finding(s); first: {first['rule_id']}: {first['message']}{_cite(first)}"
            body = "\n".join(f"{f['rule_id']}: {f['message']}{_cite(f)}" for f in errors)
            out.append(f'      <failure type="policy-violation" message={_attr(msg)}>{_xml_text(body)}</failure>')
        others = [f for f in fs if f not in errors]
        if others:
            text = "\n".join(f"{f['severity']}{' (waived)' if f.get('waived') else ''} {f['rule_id']}: {f['message']}{_cite(f)}" for f in others)
            out.append(f"      <system-out>{_xml_text(text)}</system-out>")
        out.append("    </testcase>")
    for sid, row in passed:
        out.append(f'    <testcase classname={_attr(path)} name={_attr(f"row {row}: {sid}")}/>')
    out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _sarif_rule_id(f: dict[str, Any]) -> str:
    pol = f.get("policy") or {}
    return f"{pol['family']}/{f['rule_id']}" if pol.get("family") else f["rule_id"]


def render_sarif(report: dict[str, Any], docs_base: str | None = None, rule_docs: dict[str, dict[str, Any]] | None = None) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    uri = report["manifest"]["path"]
    for f in report["findings"]:
        rid = _sarif_rule_id(f)
        if rid not in rules:
            c = f.get("clause") or {}
            pol = f.get("policy") or {}
            meta = (rule_docs or {}).get(rid, {})
            help_text = meta.get("description", "")
            if c:
                help_text = (f"{help_text}\n\n" if help_text else "") + f"{c.get('document', '')} {c['id']} {c.get('title', '')}: \"{' '.join(c['quote'].split())}\""
            if f.get("fix"):
                help_text += f"\n\nFix: {f['fix']}"
            rule: dict[str, Any] = {
                "id": rid,
                "name": f["rule_id"],
                "shortDescription": {"text": meta.get("title") or f["rule_id"]},
                "help": {"text": help_text or f["message"]},
                "defaultConfiguration": {"level": _LEVEL[f["severity"]]},
                "properties": {"kind": f["kind"], "clause": c.get("id"), "family": pol.get("family"), "version": pol.get("version")},
            }
            if meta.get("description"):
                rule["fullDescription"] = {"text": meta["description"]}
            if docs_base and pol.get("family"):
                rule["helpUri"] = f"{docs_base}/{pol['family']}/{pol['version']}/#{f['rule_id']}"
            rules[rid] = rule
        result: dict[str, Any] = {
            "ruleId": rid,
            "level": _LEVEL[f["severity"]],
            "message": {"text": f["message"] + _cite(f)},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": f["row"]}},
                "logicalLocations": [{"name": f["shipment_id"], "kind": "object"}],
            }],
            "properties": {"shipment_id": f["shipment_id"], "field": f.get("field"), "actual": f.get("actual"),
                           "expected": f.get("expected"), "layer": f.get("layer")},
        }
        if f.get("waived"):
            w = f["waived"]
            result["suppressions"] = [{"kind": "external", "justification": f"{w['id']}: {w['reason']} (owner {w['owner']}, expires {w['expires']})"}]
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "checker", "version": __version__, "semanticVersion": __version__, "rules": list(rules.values())}},
            "artifacts": [{"location": {"uri": uri}}],
            "results": results,
            "properties": {"summary": report["summary"], "policies": report["policies"]},
        }],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _gh_data(text: str) -> str:
    from .render import printable

    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: dict[str, Any]) -> str:
    """`::error file=…,line=…,title=…::message` lines; GitHub shows them on the manifest's lines."""
    path = report["manifest"]["path"]
    cmd = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in report["findings"]:
        if f.get("waived"):
            continue
        c = f.get("clause") or {}
        title = f"{f['rule_id']}" + (f" ({c['id']})" if c else "")
        lines.append(f"::{cmd[f['severity']]} file={_gh_prop(path)},line={f['row']},title={_gh_prop(title)}::"
                     f"{_gh_data(f['shipment_id'] + ': ' + f['message'] + _cite(f))}")
    s = report["summary"]
    waived = f", {s['waived']} findings waived" if s.get("waived") else ""
    lines.append(f"{s['shipments']} shipments: {s['passed']} passed, {s['failed']} failed, {s['warned']} with warnings only{waived}")
    return "\n".join(lines) + "\n"
