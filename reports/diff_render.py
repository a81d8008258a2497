"""Render a policy-version diff (and its manifest impact) as text, Markdown, HTML or JSON."""

from __future__ import annotations

import io
import json
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from checker.recordlog import RecordLog, dumps

from .json_layout import PLACEHOLDER, around
from .render import TEMPLATES

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
_md = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, trim_blocks=True, lstrip_blocks=True)
_MARK = {"stricter": "▲ stricter", "looser": "▼ looser", "neutral": "· neutral", "mixed": "◆ mixed"}


def render_diff_json(d: dict[str, Any]) -> str:
    out = io.StringIO()
    write_diff_json(d, out)
    return out.getvalue()


def write_diff_json(d: dict[str, Any], out: IO[str]) -> None:
    """The diff indented, and the impact's shipments one compact record a line, as the check report lays out its
    findings (reports/json_layout.py: indenting them cost 14 s of a 1 M-row manifest's 130 k changed shipments). A spool
    of them (checker/diff.py manifest_impact) is copied, not read back."""
    impact = d.get("impact")
    ships = impact.get("shipments") if impact else None
    if not ships:
        out.write(json.dumps({**d, "impact": {**impact, "shipments": []}} if impact else d, ensure_ascii=False, indent=2) + "\n")
        return
    before, after = around({**d, "impact": {**impact, "shipments": PLACEHOLDER}})
    out.write(before)
    if isinstance(ships, RecordLog):
        ships.write_json_array(out, indent="      ")
    else:
        out.write("[\n" + ",\n".join(dumps(x) for x in ships) + "\n    ]")
    out.write(after + "\n")


def render_diff_text(d: dict[str, Any]) -> str:
    out = io.StringIO()
    write_diff_text(d, out)
    return out.getvalue()


def write_diff_text(d: dict[str, Any], out: IO[str]) -> None:
    """The diff as text, the impact's shipments one a line, written as they are read from their spool."""
    lines = [f"{d['family']}: {d['old']} → {d['new']}  ({d['counts']['stricter']} stricter, {d['counts']['looser']} looser, "
             f"{d['counts']['neutral']} neutral, {d['counts'].get('mixed', 0)} mixed)"]
    if not d["changes"]:
        lines.append("No differences.")
    for key, label in (("destinations", "Destinations"), ("origins", "Origins"), ("country_layers", "Country exception layers"),
                       ("rounding", "Rules that round measurements")):
        if d[key]["added"] or d[key]["removed"]:
            lines.append(f"{label}: added {', '.join(d[key]['added']) or 'none'}; removed {', '.join(d[key]['removed']) or 'none'}")
    for country, ch in d.get("prohibited_categories", {}).items():
        lines.append(f"Prohibited in {country}: added {', '.join(ch['added']) or 'none'}; removed {', '.join(ch['removed']) or 'none'}")
    for c in d["changes"]:
        lines.append(f"  {_MARK.get(c['effect'], c['effect']):<12} {c['what']:<8} {c['change']:<10} {c['id']}: {c['summary']}")
    impact = d.get("impact")
    if impact:
        s = impact["summary"]
        lines.append("")
        lines.append(f"Impact on {impact['manifest']} ({impact['rows']} rows): {s['newly failing']} newly failing, "
                     f"{s['newly passing']} newly passing, {s['changed']} changed")
        for r in impact.get("by_rule", []):
            lines.append(f"  {r['rule_id']}: {r['shipments']} shipments ({r['newly failing']} newly failing, "
                         f"{r['newly passing']} newly passing, {r['changed']} changed)")
    out.write("\n".join(lines) + "\n")
    for x in impact["shipments"] if impact else ():
        why = ", ".join(x["responsible_changes"]) or "—"
        gone = ", ".join(f"{f['rule_id']} ({f['clause']})" for f in x["findings_gone"]) or "—"
        new = ", ".join(f"{f['rule_id']} ({f['clause']})" for f in x["findings_new"]) or "—"
        out.write(f"  row {x['row']} {x['shipment_id']}: {x['outcome']} ({x['before']} → {x['after']}); "
                  f"no longer: {gone}; now: {new}; rule changes: {why}\n")


# Shipments of the impact the HTML and Markdown pages list; past that a page is a wall a person scrolls rather than
# reads (a 1 M-row manifest had 130 k, a 31 MB page). The rule table counts them all; the JSON and text list them all.
SHOWN = 1000


def render_diff_md(d: dict[str, Any]) -> str:
    return _md.get_template("diff.md.j2").render(d=d, mark=_MARK, shown=SHOWN)


def render_diff_html(d: dict[str, Any]) -> str:
    return _env.get_template("diff.html.j2").render(d=d, mark=_MARK, shown=SHOWN)
