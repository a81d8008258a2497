"""Agreements (--agreement) and waivers (--waivers): the shipper's own layer on top of the terms.

An agreement changes what the terms allow only "if the Contract provides", citing the
contract's clause; a waiver silences one rule for named shipments or a scope, with reason,
owner and expiry, and the waived finding is still shown, marked and counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FatalInput
from .findings import Finding
from .loader import schema_problems
from .model import Clause, Rule, Version
from .predicates import Pred, compile_predicate
from .shipment import EvalEnv, Shipment
from .yamlio import Mark, YamlError, load_yaml_file


def _load(path: str, schema: str, what: str):  # noqa: ANN202 - LoadedYaml
    p = Path(path)
    if not p.is_file():
        raise FatalInput(f"Cannot read {what} {path}: the file does not exist.")
    try:
        doc = load_yaml_file(p)
    except YamlError as exc:
        raise FatalInput(f"Cannot read {what} {exc.mark}: {exc.message}.") from None
    if doc.data is None:
        raise FatalInput(f"Cannot read {what} {path}: the file is empty.")
    problems = schema_problems(doc, schema)
    if problems:
        raise FatalInput(f"Invalid {what} {problems[0]}" + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "") + ".")
    return doc


@dataclass
class Agreement:
    id: str
    title: str
    party: str
    path: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    clauses: dict[str, Clause]
    sections: list[dict[str, Any]]

    def covers(self, day: dt.date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_until is None or day <= self.valid_until)

    def section_for(self, v: Version) -> dict[str, Any] | None:
        for sec in self.sections:
            if sec["family"] == v.family and (not sec.get("versions") or v.id in sec["versions"]):
                return sec
        return None

    def apply(self, v: Version, rules: list[Rule]) -> list[Rule]:
        """The version's effective rules with this agreement's overrides, disables and additions."""
        sec = self.section_for(v)
        if sec is None:
            return rules
        exc = {"agreement": self.id, "file": self.path}
        by_id = {r.id: r for r in rules}
        order = [r.id for r in rules]
        for rid, ov in sec.get("override", {}).items():
            if rid in by_id:
                by_id[rid] = by_id[rid].merged(ov, "agreement", {**exc, "action": "override", "country": by_id[rid].exception and by_id[rid].exception.get("country")})
        for d in sec.get("disable", []):
            by_id.pop(d["rule"], None)
        for raw in sec.get("add", []):
            if raw["id"] not in by_id:
                order.append(raw["id"])
            by_id[raw["id"]] = Rule(raw, Mark(self.path, 1, 1), "agreement", {**exc, "action": "add"})
        return [by_id[i] for i in order if i in by_id]


def load_agreement(path: str, families: dict[str, Any]) -> Agreement:
    doc = _load(path, "agreement.schema.json", "agreement")
    data = doc.data
    clauses = {c["id"]: Clause(c["id"], c["title"], c["quote"], "", Path(path).name, c.get("summary_en", ""), origin=doc.mark_for(f"/clauses/{i}"))
               for i, c in enumerate(data["clauses"])}
    for i, sec in enumerate(data["policies"]):
        fam = families.get(sec["family"])
        where = doc.mark_for(f"/policies/{i}")
        if fam is None:
            raise FatalInput(f"Invalid agreement {where}: unknown policy family '{sec['family']}'.")
        known = {r.id for v in fam.versions for r in v.rules} | {r.id for v in fam.versions for ly in v.layers for r in ly.add}
        for rid, ov in sec.get("override", {}).items():
            if rid not in known:
                raise FatalInput(f"Invalid agreement {where}: override names unknown rule '{rid}' of {fam.id}.")
            if ov.get("clause") and ov["clause"] not in clauses:
                raise FatalInput(f"Invalid agreement {where}: override of '{rid}' cites '{ov['clause']}', which the agreement does not define.")
        for d in sec.get("disable", []):
            if d["clause"] not in clauses:
                raise FatalInput(f"Invalid agreement {where}: disabling '{d['rule']}' cites '{d['clause']}', which the agreement does not define.")
        for r in sec.get("add", []):
            if r["clause"] not in clauses:
                raise FatalInput(f"Invalid agreement {where}: rule '{r['id']}' cites '{r['clause']}', which the agreement does not define.")
    date = lambda k: dt.date.fromisoformat(data[k]) if data.get(k) else None  # noqa: E731
    return Agreement(data["id"], data.get("title", data["id"]), data["party"], path, date("valid_from"), date("valid_until"),
                     clauses, data["policies"])


@dataclass
class Waiver:
    id: str
    rule: str
    family: str | None
    version: str | None
    shipments: set[str]
    scope: Pred | None
    reason: str
    owner: str
    expires: dt.date

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "owner": self.owner, "expires": self.expires.isoformat()}


@dataclass
class Waivers:
    path: str
    items: list[Waiver] = field(default_factory=list)
    expired_used: set[str] = field(default_factory=set)

    def apply(self, s: Shipment, findings: list[Finding], day: dt.date, env: EvalEnv) -> None:
        """Mark findings covered by a waiver in force on the shipment's day; expired waivers are noted, not applied."""
        for f in findings:
            if f.kind in ("input", "resolution"):
                continue
            for w in self.items:
                if w.rule != f.rule_id:
                    continue
                pol = f.policy or {}
                if (w.family and w.family != pol.get("family")) or (w.version and w.version != pol.get("version")):
                    continue
                if w.shipments and s.shipment_id not in w.shipments:
                    continue
                if w.scope and not w.scope(s, env):
                    continue
                if day > w.expires:
                    self.expired_used.add(w.id)
                    continue
                f.waived = w.record()
                break


def load_waivers(path: str) -> Waivers:
    doc = _load(path, "waivers.schema.json", "waivers file")
    items = []
    for w in doc.data["waivers"]:
        items.append(Waiver(w["id"], w["rule"], w.get("family"), w.get("version"), set(w.get("shipments", [])),
                            compile_predicate(w["scope"]) if "scope" in w else None, w["reason"], w["owner"],
                            dt.date.fromisoformat(w["expires"])))
    return Waivers(path, items)
