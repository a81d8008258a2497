"""Semantic diff between two policy versions, and the impact of the new version on a real manifest.

Rules are matched by id (ids are stable across versions), clauses by id or by
`renumbered_from`. Every parameter change is stated before → after and labelled stricter,
looser or neutral *for a shipper*: a smaller limit or a new prohibition is stricter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator

from .finding_lines import records
from .model import Family, PolicySet, Rule, Version

STRICTER, LOOSER, NEUTRAL = "stricter", "looser", "neutral"


@dataclass
class Change:
    what: str                      # rule | clause | layer | metadata | lanes
    id: str
    change: str                    # added | removed | changed | renumbered | reworded
    effect: str                    # stricter | looser | neutral
    summary: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "id": self.id, "change": self.change, "effect": self.effect, "summary": self.summary,
                "details": self.details}


def _fmt(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return "—" if v is None else str(v)


def _param_changes(path: str, old: Any, new: Any) -> list[dict[str, Any]]:
    """Leaf-level differences between two parameter trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            out += _param_changes(f"{path}.{k}" if path else str(k), old.get(k), new.get(k))
        return out
    if old == new:
        return []
    return [{"path": path, "before": old, "after": new}]


def _direction(path: str, before: Any, after: Any) -> str:
    """Stricter/looser for one parameter change, from its name and the direction of the numbers."""
    leaf = path.split(".")[-1]
    if path.startswith("lanes."):
        return LOOSER if before is None else STRICTER if after is None else NEUTRAL
    if leaf == "rounding":
        # Rounding half up lets x.49 over a maximum (or x.5 under a minimum) pass; it never fails what passed.
        return LOOSER if (before in (None, "none")) and after == "half_up" else STRICTER if before == "half_up" else NEUTRAL
    if before is None and after is not None:
        if leaf in ("rounding",):
            return NEUTRAL
        return STRICTER if leaf.startswith(("min", "max")) or leaf in ("categories",) else NEUTRAL
    if after is None and before is not None:
        return LOOSER if leaf.startswith(("min", "max")) else NEUTRAL
    if isinstance(before, (int, float)) and isinstance(after, (int, float)):
        if leaf.startswith("max"):
            return STRICTER if after < before else LOOSER
        if leaf.startswith("min"):
            return STRICTER if after > before else LOOSER
        return NEUTRAL
    if isinstance(before, list) and isinstance(after, list):
        if all(isinstance(x, (int, float)) for x in before + after) and len(before) == len(after):
            worse = any(a < b for a, b in zip(after, before)) if leaf.startswith("max") else any(a > b for a, b in zip(after, before))
            better = any(a > b for a, b in zip(after, before)) if leaf.startswith("max") else any(a < b for a, b in zip(after, before))
            return STRICTER if worse and not better else LOOSER if better and not worse else NEUTRAL
        added, removed = set(map(str, after)) - set(map(str, before)), set(map(str, before)) - set(map(str, after))
        if leaf in ("categories",):  # prohibited categories
            return STRICTER if added and not removed else LOOSER if removed and not added else NEUTRAL
        if leaf in ("values", "fields") or len(leaf) == 2:
            if leaf == "fields":
                return STRICTER if added and not removed else LOOSER if removed and not added else NEUTRAL
            return LOOSER if added and not removed else STRICTER if removed and not added else NEUTRAL
    if path.startswith("severity"):
        rank = {"info": 0, "warning": 1, "error": 2}
        return STRICTER if rank.get(after, 0) > rank.get(before, 0) else LOOSER
    return NEUTRAL


def _combine(effects: list[str]) -> str:
    s = set(effects) - {NEUTRAL}
    if not s:
        return NEUTRAL
    return s.pop() if len(s) == 1 else "mixed"


def _rule_effect_added(r: Rule) -> str:
    return LOOSER if r.kind == "route" else STRICTER


def _lanes(v: Version) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in v.rules:
        if r.kind == "route":
            for o, dests in r.get("lanes", {}).items():
                out.setdefault(o, set()).update(dests)
    return out


def _rules_with_layers(v: Version) -> dict[tuple[str, str], Rule]:
    """Base rules plus, per country layer, the rules it overrides or adds, keyed (scope, rule id)."""
    out = {("base", r.id): r for r in v.rules}
    for ly in v.layers:
        for c in ly.countries:
            for r in v.effective_rules(c if ly.applies_to == "origin" else None, c if ly.applies_to == "destination" else None):
                if r.layer != "base":
                    out[(f"country:{c}", r.id)] = r
    return out


def diff_versions(old: Version, new: Version) -> dict[str, Any]:
    changes: list[Change] = []
    # Metadata.
    for key in ("effective_from", "effective_until", "status", "binding_language"):
        a, b = old.meta.get(key), new.meta.get(key)
        if a != b and key != "effective_from":
            changes.append(Change("metadata", key, "changed", NEUTRAL, f"{_fmt(a)} → {_fmt(b)}"))
    # Lanes and destinations.
    la, lb = _lanes(old), _lanes(new)
    dest_a = set().union(*la.values()) if la else set()
    dest_b = set().union(*lb.values()) if lb else set()
    orig_a, orig_b = set(la), set(lb)
    lanes_added = sorted(f"{o}→{d}" for o in lb for d in lb[o] if d not in la.get(o, set()))
    lanes_removed = sorted(f"{o}→{d}" for o in la for d in la[o] if d not in lb.get(o, set()))
    # Clauses.
    renumbered: dict[str, str] = {}
    for cid, c in new.clauses.items():
        # `renumbered_from` names the clause's id in the version this one supersedes; it says nothing about others.
        if c.renumbered_from and new.supersedes == old.id and c.renumbered_from in old.clauses and c.renumbered_from != cid:
            renumbered[c.renumbered_from] = cid
    for cid, c in new.clauses.items():
        if cid in renumbered.values():
            src = next(k for k, v in renumbered.items() if v == cid)
            changes.append(Change("clause", cid, "renumbered", NEUTRAL, f"{src} → {cid} ({c.title})"))
        elif cid not in old.clauses:
            changes.append(Change("clause", cid, "added", NEUTRAL, f"{cid} {c.title}" + ("" if c.checkable else " (not checkable)")))
        else:
            oc = old.clauses[cid]
            if oc.language == c.language and " ".join(oc.quote.split()) != " ".join(c.quote.split()):
                changes.append(Change("clause", cid, "reworded", NEUTRAL, f"{cid} {c.title}",
                                      [{"path": "quote", "before": oc.quote, "after": c.quote}]))
    for cid, c in old.clauses.items():
        if cid not in new.clauses and cid not in renumbered:
            changes.append(Change("clause", cid, "removed", NEUTRAL, f"{cid} {c.title}"))
    # Rules, base and per country layer.
    ra, rb = _rules_with_layers(old), _rules_with_layers(new)
    for key in list(rb) + [k for k in ra if k not in rb]:
        scope, rid = key
        label = rid if scope == "base" else f"{rid} [{scope}]"
        a, b = ra.get(key), rb.get(key)
        if a is None and b is not None:
            changes.append(Change("rule", label, "added", _rule_effect_added(b),
                                  f"{b.get('title') or rid} ({b.kind}, {b.clause}, {b.severity})", [{"path": "", "before": None, "after": b.params}]))
        elif b is None and a is not None:
            changes.append(Change("rule", label, "removed", LOOSER if a.kind != "route" else STRICTER,
                                  f"{a.get('title') or rid} ({a.kind}, {a.clause})"))
        elif a is not None and b is not None:
            details = _param_changes("", {k: v for k, v in a.raw.items() if k not in ("id", "kind", "note", "title", "message", "fix", "quote", "also_cites")},
                                     {k: v for k, v in b.raw.items() if k not in ("id", "kind", "note", "title", "message", "fix", "quote", "also_cites")})
            if not details:
                continue
            for d in details:
                d["effect"] = NEUTRAL if d["path"] == "clause" else _direction(d["path"], d["before"], d["after"])
            only_clause = all(d["path"] == "clause" for d in details)
            if only_clause:
                d = details[0]
                renum = renumbered.get(d["before"]) == d["after"]
                changes.append(Change("rule", label, "renumbered" if renum else "changed", NEUTRAL,
                                      f"cites {d['before']} → {d['after']}" + (" (renumbered, no change in substance)" if renum else ""), details))
            else:
                effect = _combine([d["effect"] for d in details])
                changes.append(Change("rule", label, "changed", effect,
                                      "; ".join(f"{d['path']}: {_fmt(d['before'])} → {_fmt(d['after'])}" for d in details[:6])
                                      + (f"; … {len(details) - 6} more" if len(details) > 6 else ""), details))
    if lanes_added or lanes_removed:
        changes.append(Change("lanes", "lanes", "changed", _combine([LOOSER] * bool(lanes_added) + [STRICTER] * bool(lanes_removed)),
                              f"lanes added: {', '.join(lanes_added) or 'none'}; removed: {', '.join(lanes_removed) or 'none'}"))
    prohibited = _prohibited_diff(old, new)
    layers_old = {c for ly in old.layers for c in ly.countries}
    layers_new = {c for ly in new.layers for c in ly.countries}
    rounding_added = sorted({k[1] for k in rb if _rounds(rb[k]) and k in ra and not _rounds(ra[k])} |
                            {k[1] for k in rb if _rounds(rb[k]) and k not in ra})
    rounding_removed = sorted({k[1] for k in ra if _rounds(ra[k]) and k in rb and not _rounds(rb[k])})
    counts = {e: sum(1 for c in changes if c.effect == e) for e in (STRICTER, LOOSER, NEUTRAL, "mixed")}
    return {
        "family": new.family, "old": old.id, "new": new.id,
        "old_effective_from": old.effective_from.isoformat() if old.effective_from else None,
        "new_effective_from": new.effective_from.isoformat() if new.effective_from else None,
        "destinations": {"added": sorted(dest_b - dest_a), "removed": sorted(dest_a - dest_b)},
        "origins": {"added": sorted(orig_b - orig_a), "removed": sorted(orig_a - orig_b)},
        "lanes": {"added": lanes_added, "removed": lanes_removed},
        "prohibited_categories": prohibited,
        "renumbered": renumbered,
        "country_layers": {"added": sorted(layers_new - layers_old), "removed": sorted(layers_old - layers_new)},
        "rounding": {"added": rounding_added, "removed": rounding_removed},
        "changes": [c.to_dict() for c in changes],
        "counts": counts,
    }


def _rounds(r: Rule) -> bool:
    return r.get("rounding", "none") != "none"


def _prohibited(v: Version) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    countries = {c for ly in v.layers for c in ly.countries} | {"*"}
    for c in countries:
        rules = v.rules if c == "*" else v.effective_rules(None, c)
        # Unconditional prohibitions only: rules scoped by a `when` (e.g. to a country of dispatch) are in the rule changes.
        cats = {cat for r in rules if r.kind == "prohibited_contents" and not r.when for cat in r.get("categories", [])}
        out[c] = cats
    base = out.get("*", set())
    return {c: cats for c, cats in out.items() if c == "*" or cats != base}


def _prohibited_diff(old: Version, new: Version) -> dict[str, dict[str, list[str]]]:
    pa, pb = _prohibited(old), _prohibited(new)
    base_added, base_removed = pb.get("*", set()) - pa.get("*", set()), pa.get("*", set()) - pb.get("*", set())
    out = {}
    for c in sorted(set(pa) | set(pb), key=lambda x: (x != "*", x)):
        a, b = pa.get(c, pa.get("*", set())), pb.get(c, pb.get("*", set()))
        added, removed = b - a, a - b
        if c != "*":  # what changed for every country is said once, under "all countries"
            added, removed = added - base_added, removed - base_removed
        if added or removed:
            out["all countries" if c == "*" else c] = {"added": sorted(added), "removed": sorted(removed)}
    return out


def resolve_ref(policies: PolicySet, ref: str) -> tuple[Family, Version]:
    from .errors import FatalInput

    if "@" not in ref:
        raise FatalInput(f"'{ref}' must name a version: FAMILY@VERSION.")
    fid, vid = ref.split("@", 1)
    fam = policies.family(fid)
    if fam is None:
        raise FatalInput(f"Unknown policy family '{fid}' (known: {', '.join(policies.families)}).")
    v = fam.version(vid)
    if v is None:
        raise FatalInput(f"{fid} has no version '{vid}' (versions: {', '.join(x.id for x in fam.versions)}).")
    return fam, v


def manifest_impact(path: str, policies: PolicySet, old: Version, new: Version, diff: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Check the manifest under both versions and list every shipment whose outcome changes.

    Both reports list their shipments and findings in row order, from their spools; they are walked side by side, one
    shipment at a time, so a day's manifest of millions of rows is compared in bounded memory (2026-11-23: with every
    finding of both runs held as dicts, 100 k rows peaked at 735 MB). The changed shipments go to a spool of JSON lines
    too (a RecordLog, which the caller closes): a 10 M-row manifest has 1.3 M of them, 4.4 GB as dicts.
    The counts, overall and by rule change, are kept as they go."""
    from .recordlog import RecordLog, dumps
    from .run import check_manifest

    runs = [check_manifest(path, policies, family=v.family, version=v.id, want_passed=False, **kwargs) for v in (old, new)]
    out = RecordLog()
    pending: list[str] = []  # serialised shipments, appended to the spool a batch at a time
    summary = dict.fromkeys(_OUTCOMES, 0)
    by_rule: dict[str, dict[str, int]] = {}
    try:
        # A change answers for a rule's findings when it is that rule's, or one of its layers' ("rule [country:IT]").
        answerable = {c["id"].split(" [")[0] for c in diff["changes"] if c["what"] == "rule" or " [" in c["id"]}
        renum = diff.get("renumbered", {})
        for (sid, row), (before, fa), (after, fb) in _side_by_side(*(_outcomes(r.report) for r in runs)):
            ka = {(rid, renum.get(cid, cid)) for rid, cid in fa}
            if before == after and ka == fb:
                continue
            if before != "failed" and after == "failed":
                outcome = "newly failing"
            elif before == "failed" and after != "failed":
                outcome = "newly passing"
            else:
                outcome = "changed"
            gone = sorted(ka - fb)
            new_f = sorted(fb - ka)
            responsible = sorted({rid for rid, _ in gone + new_f if rid in answerable})
            summary[outcome] += 1
            for rid in responsible:
                by_rule.setdefault(rid, dict.fromkeys(_OUTCOMES, 0))[outcome] += 1
            pending.append(dumps({"shipment_id": sid, "row": row, "before": before, "after": after, "outcome": outcome,
                                  "findings_gone": [{"rule_id": r, "clause": c} for r, c in gone],
                                  "findings_new": [{"rule_id": r, "clause": c} for r, c in new_f],
                                  "responsible_changes": responsible}))
            if len(pending) >= 4096:
                out.append_lines(pending)
                pending = []
        out.append_lines(pending)
        rows = runs[0].report["manifest"]["rows"]
    except BaseException:
        out.close()
        raise
    finally:
        for r in runs:
            r.close()
    return {"manifest": path, "rows": rows, "summary": summary, "by_rule": _by_rule(by_rule), "shipments": out}


_OUTCOMES = ("newly failing", "newly passing", "changed")


def _by_rule(counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """How many shipments each rule change turns, by outcome, most first: what an analyst reads before 100 k rows."""
    rows = [{"rule_id": rid, **n, "shipments": sum(n.values())} for rid, n in counts.items()]
    return sorted(rows, key=lambda r: (-r["shipments"], r["rule_id"]))


_Outcome = tuple[str, set[tuple[str, str | None]]]  # a shipment's status, and (rule, clause) of its rule findings


def _outcomes(report: dict[str, Any]) -> Iterator[tuple[tuple[str, int], _Outcome]]:
    """Each shipment with findings, in row order: its status and the (rule, clause) of its findings other than input
    problems. The shipment records are in row order too, one per shipment with findings."""
    ships = iter(report["shipments"])
    ship = next(ships, None)
    for key, found in itertools.groupby(records(report["findings"]), key=lambda f: (f["shipment_id"], f["row"])):
        while ship is not None and ship["row"] < key[1]:
            ship = next(ships, None)
        status = ship["status"] if ship is not None and (ship["shipment_id"], ship["row"]) == key else "passed"
        yield key, (status, {(f["rule_id"], (f.get("clause") or {}).get("id")) for f in found if f["kind"] != "input"})


def _side_by_side(a: Iterator[tuple[tuple[str, int], _Outcome]], b: Iterator[tuple[tuple[str, int], _Outcome]]
                  ) -> Iterator[tuple[tuple[str, int], _Outcome, _Outcome]]:
    """Both runs' shipments merged by row; a shipment only one run has findings for passed in the other."""
    passed: _Outcome = ("passed", set())
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x[0][1] < y[0][1]):
            yield x[0], x[1], passed
            x = next(a, None)
        elif x is None or y[0][1] < x[0][1]:
            yield y[0], passed, y[1]
            y = next(b, None)
        else:
            yield x[0], x[1], y[1]
            x, y = next(a, None), next(b, None)

