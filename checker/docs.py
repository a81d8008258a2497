"""Human-readable rule docs generated only from the policy data (an mkdocs site under docs/policies/).

Each rule is described by its kind's own `describe`, so the docs say exactly what the
checker checks; quotes are the verbatim ones the findings show.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from .diff import diff_versions
from .kinds import KINDS
from .kinds.base import fmt_num
from .model import PolicySet, Rule, Version
from .predicates import describe as describe_when

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_cell(x)}" for k, x in v.items())
    if isinstance(v, float):
        return fmt_num(v)
    return "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")


def param_tables(r: Rule) -> list[dict[str, Any]]:
    """The rule's parameters as tables a person reads (sizes, lanes, allowed values per country)."""
    p = r.params
    out: list[dict[str, Any]] = []
    if r.kind == "dimensions":
        rows = []
        for name, c in p["categories"].items():
            rows.append([name, c.get("height", "any"), _cell(c.get("min_height_mm", "")), " × ".join(map(fmt_num, c.get("min_mm", []))),
                         " × ".join(map(fmt_num, c["max_mm"])), _cell(c.get("max_weight_kg", ""))])
        out.append({"columns": ["category", "height is", "min height (mm)", "min h × w × l (mm)", "max h × w × l (mm)", "max weight (kg)"], "rows": rows})
    elif r.kind == "route":
        lanes = p["lanes"]
        dests = sorted({d for ds in lanes.values() for d in ds})
        rows = [[o] + [_cell(lanes[o][d]) if d in lanes[o] and lanes[o][d] is not None else ("✓" if d in lanes[o] else "—") for d in dests]
                for o in lanes]
        out.append({"columns": ["from \\ to"] + dests, "rows": rows, "note": "Numbers: estimated transit time in working days; — not served."})
    elif r.kind == "allowed" and "table" in p:
        out.append({"columns": [p["by"], f"allowed {p['field']}"], "rows": [[k, _cell(v) or "none"] for k, v in p["table"].items()]})
    else:
        rows = [[k, _cell(v)] for k, v in p.items() if k not in ("rounding_clause",)]
        if rows:
            out.append({"columns": ["parameter", "value"], "rows": rows})
    return out


def _rule_view(r: Rule, v: Version) -> dict[str, Any]:
    clause = v.clauses.get(r.clause)
    return {"id": r.id, "title": r.get("title") or r.id, "kind": r.kind, "severity": r.severity, "clause": clause,
            "quote": r.get("quote") or (clause.quote if clause else ""), "when": describe_when(r.when),
            "description": KINDS[r.kind].describe(r.params), "tables": param_tables(r), "note": r.get("note"),
            "fix": r.get("fix"), "also": [v.clauses[c] for c in r.get("also_cites", []) if c in v.clauses], "layer": r.layer,
            "exception": r.exception}


def _matrix(v: Version) -> dict[str, Any]:
    countries = sorted({c for ly in v.layers for c in ly.countries})
    rule_ids: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for ly in v.layers:
        for c in ly.countries:
            for rid in ly.override:
                cells[(c, rid)] = "changed"
                rule_ids.append(rid)
            for d in ly.disable:
                cells[(c, d["rule"])] = "off"
                rule_ids.append(d["rule"])
            for r in ly.add:
                cells[(c, r.id)] = "added"
                rule_ids.append(r.id)
    rule_ids = list(dict.fromkeys(rule_ids))
    return {"countries": countries, "rules": rule_ids, "cells": {f"{c}|{r}": x for (c, r), x in cells.items()}}


def _layer_views(v: Version) -> list[dict[str, Any]]:
    views = []
    for ly in v.layers:
        c = ly.countries[0]
        eff = v.effective_rules(c if ly.applies_to == "origin" else None, c if ly.applies_to == "destination" else None)
        rules = [_rule_view(r, v) for r in eff if r.exception and r.exception.get("file") == ly.file]
        views.append({"countries": ly.countries, "applies_to": ly.applies_to, "title": ly.title, "note": ly.note,
                      "file": Path(ly.file).name, "rules": rules, "disable": ly.disable})
    return views


def _prohibited(v: Version, policies: PolicySet) -> list[list[str]]:
    rows = []
    base = sorted({c for r in v.rules if r.kind == "prohibited_contents" for c in r.get("categories", [])})
    if base:
        rows.append(["all destinations", ", ".join(policies.categories.by_id[c].name() if c in policies.categories.by_id else c for c in base)])
    for c in sorted({c for ly in v.layers for c in ly.countries}):
        cats = sorted({x for r in v.effective_rules(None, c) if r.kind == "prohibited_contents" for x in r.get("categories", [])})
        if cats != base:
            extra = [x for x in cats if x not in base]
            rows.append([c, ", ".join(policies.categories.by_id[x].name() if x in policies.categories.by_id else x for x in extra) + " (in addition)"])
    return rows


def generate(policies: PolicySet, out: Path) -> list[Path]:
    """Write the Markdown pages; returns the files written."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = _cell
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    families = sorted(policies.families.values(), key=lambda f: (f.is_overlay, f.id))
    pairs: dict[str, list[tuple[Version, Version]]] = {}
    for fam in families:
        dated = fam.dated()
        pairs[fam.id] = list(zip(dated, dated[1:]))
    write(out / "index.md", env.get_template("docs_index.md.j2").render(families=families, pairs=pairs))
    for fam in families:
        prev_of = {b.id: a for a, b in pairs[fam.id]}
        for v in fam.versions:
            prev = prev_of.get(v.id)
            changes = diff_versions(prev, v) if prev else None
            page = env.get_template("docs_version.md.j2").render(
                fam=fam, v=v, rules=[_rule_view(r, v) for r in v.rules], matrix=_matrix(v), layers=_layer_views(v),
                prohibited=_prohibited(v, policies), tables=v.tables, prev=prev, changes=changes,
                unchecked=[c for c in v.clauses.values() if not c.checkable])
            write(out / fam.id / f"{v.id}.md", page)
        for a, b in pairs[fam.id]:
            from reports.diff_render import render_diff_md

            write(out / fam.id / f"changes-{a.id}-to-{b.id}.md", render_diff_md(diff_versions(a, b)))
    return written

