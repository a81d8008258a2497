"""Render a report model (the DESIGN JSON contract) as text, JSON or a self-contained HTML page.

Renderers only read the report dict, so every format shows the same counts; the HTML groups
findings per rule with a capped sample (all findings stay in the JSON).
"""

from __future__ import annotations

import io
import json
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from checker.finding_lines import records

TEMPLATES = Path(__file__).resolve().parent / "templates"
SAMPLE_PER_RULE = 200
SHIPMENTS_SHOWN = 2000


@lru_cache(maxsize=1)
def _environment() -> Any:
    """Built when HTML is first rendered: a JSON or text report never imports Jinja2 (~25 ms at start-up)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def render_json(report: dict[str, Any]) -> str:
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()


def write_json(report: dict[str, Any], out: IO[str]) -> None:
    """The JSON report, streamed: small parts indented, findings and shipments one compact record per line.

    A million-row run has hundreds of megabytes of findings; they are copied from their spool
    (checker/recordlog.py) rather than re-encoded, and never held as dicts.
    """
    out.write("{")
    for i, (key, value) in enumerate(report.items()):
        out.write(("," if i else "") + "\n  " + json.dumps(key) + ": ")
        if hasattr(value, "write_json_array"):
            value.write_json_array(out, indent="    ")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and key in ("findings", "shipments"):
            out.write("[\n" + ",\n".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in value) + "\n  ]")
        else:
            out.write(json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  "))
    out.write("\n}\n")


def verdict(summary: dict[str, Any]) -> tuple[str, str]:
    """(css class, sentence) for the banner and the text summary."""
    if summary["failed"]:
        return "fail", f"Do not dispatch: {summary['failed']} of {summary['shipments']} shipments break the terms."
    if summary["warned"]:
        return "warn", f"Review before dispatch: {summary['warned']} of {summary['shipments']} shipments need a look."
    return "pass", f"All {summary['shipments']} shipments pass."


class _Groups:
    """Findings grouped per rule (and policy version) as they come, with a capped sample of each group."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.groups: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, f: dict[str, Any]) -> None:
        pol = f.get("policy") or {}
        clause = f.get("clause") or {}
        key = (pol.get("family"), pol.get("version"), f["rule_id"], clause.get("id"), clause.get("quote"), f["severity"])
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = {"rule_id": f["rule_id"], "kind": f["kind"], "severity": f["severity"], "policy": pol,
                                    "clause": f.get("clause"), "fix": f.get("fix"), "count": 0, "sample": [],
                                    "layers": set(), "countries": set(), "also_cites": f.get("also_cites") or []}
        g["count"] += 1
        g["layers"].add(f.get("layer") or "base")
        if f.get("destination_country"):
            g["countries"].add(f["destination_country"])
        if len(g["sample"]) < self.cap:
            g["sample"].append(f)

    def result(self) -> list[dict[str, Any]]:
        """Errors first, largest groups first."""
        rank = {"error": 0, "warning": 1, "info": 2}
        out = sorted(self.groups.values(), key=lambda g: (rank.get(g["severity"], 3), -g["count"], g["rule_id"]))
        for g in out:
            g["layers"] = sorted(g["layers"])
            g["countries"] = sorted(g["countries"])
        return out


def group_findings(report: dict[str, Any], cap: int = SAMPLE_PER_RULE) -> list[dict[str, Any]]:
    """Findings grouped per rule (and policy version), errors first, largest groups first."""
    groups = _Groups(cap)
    for f in records(report["findings"]):
        groups.add(f)
    return groups.result()


_CONTROL = {c: f"\\x{c:02x}" for c in list(range(0x00, 0x20)) + list(range(0x7f, 0xa0)) if c not in (0x0a,)}


_CONTROL_CHAR = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # the keys of _CONTROL


def printable(text: str) -> str:
    """Terminal-safe text: control characters from manifest cells (ESC, BEL, CR …) are shown, not executed.

    Searched for first: translate through a dict costs ~8 us for a 300-character finding line that has none (2026-11-23)."""
    return text.translate(_CONTROL) if _CONTROL_CHAR.search(text) else text


def render_text(report: dict[str, Any], limit: int = 20) -> str:
    return printable(_render_text(report, limit))


def _render_text(report: dict[str, Any], limit: int = 20) -> str:
    s = report["summary"]
    _, sentence = verdict(s)
    m = report["manifest"]
    dialect = ", ".join(f"{k} {v}" for k, v in m.get("dialect", {}).items())
    lines = [
        f"{sentence}",
        f"Manifest {m['path']}: {m['rows']} rows ({dialect})",
        "Policies: " + (", ".join(f"{p['family']}@{p['version']}" for p in report["policies"]) or "none applied"),
        f"Shipments: {s['shipments']}  passed {s['passed']}  failed {s['failed']}  warnings only {s['warned']}",
        f"Findings: {s['errors']} errors, {s['warnings']} warnings, {s['infos']} info" + (f", {s['waived']} waived" if s.get("waived") else ""),
    ]
    for w in m.get("warnings", []):
        lines.append(f"Note: {w}")
    groups = group_findings(report, cap=3)
    if groups:
        lines.append("")
        lines.append("By rule:")
        for g in groups:
            clause = g["clause"] or {}
            where = f"{g['policy'].get('family')}@{g['policy'].get('version')} {clause.get('id', '')}".strip() if g["policy"] else g["kind"]
            lines.append(f"  {g['severity']:<7} {g['count']:>6}  {g['rule_id']}  [{where}]")
    findings = report["findings"][:limit]
    if findings:
        lines.append("")
        lines.append(f"First {len(findings)} of {len(report['findings'])} findings:")
        for f in findings:
            clause = f.get("clause") or {}
            cite = f" — {clause['id']}: \"{_clip(clause.get('quote', ''), 90)}\"" if clause else ""
            lines.append(f"  row {f['row']} {f['shipment_id']}: {f['severity']} {f['rule_id']}: {f['message']}{cite}")
    return "\n".join(lines) + "\n"


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def render_html(report: dict[str, Any], cap: int = SAMPLE_PER_RULE, shipments_shown: int = SHIPMENTS_SHOWN,
                docs_base: str | None = None) -> str:
    groups = _Groups(cap)
    by_shipment: dict[tuple[str, int], list[dict[str, Any]]] = {}
    shown = report["shipments"][:shipments_shown]
    wanted = {(s["shipment_id"], s["row"]) for s in shown}
    for f in records(report["findings"]):  # one pass for both: each finding is read back from the spool once
        groups.add(f)
        k = (f["shipment_id"], f["row"])
        if k in wanted:
            by_shipment.setdefault(k, []).append(f)
    grouped = groups.result()
    css_class, sentence = verdict(report["summary"])
    rules = sorted({g["rule_id"] for g in grouped})
    countries = sorted({c for g in grouped for c in g["countries"]})
    layers = sorted({lyr for g in grouped for lyr in g["layers"]})
    return _environment().get_template("report.html.j2").render(
        report=report, groups=grouped, verdict_class=css_class, verdict=sentence, rules=rules, countries=countries,
        layers=layers, shipments=shown, by_shipment=by_shipment, cap=cap, nonce=secrets.token_urlsafe(16),
        shipments_total=len(report["shipments"]), docs_base=docs_base,
    )
