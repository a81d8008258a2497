"""Evaluate shipments: resolve family and version per row, apply country layers and overlays, run the rules.

Rules are compiled once per (version, layer combination) and reused for every row; a row
never re-validates anything. Each finding carries the citation and the layer that decided.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from .errors import MissingRate
from .findings import Finding, jsonable
from .kinds import KINDS
from .kinds.base import Check, Violation
from .model import Clause, Family, PolicySet, Rule, Version
from .predicates import Pred, compile_predicate
from .shipment import EvalEnv, Shipment


@dataclass
class CompileCtx:
    timezone: str
    family: str


@dataclass
class CompiledRule:
    rule: Rule
    family: Family
    version: Version
    when: Pred
    check: Check
    clause: Clause
    also: list[Clause]
    layer_key: str = "base"  # the layer file's name, or "base": Evaluation.applied_keys (a Path per rule per row cost ~7 us)


class _Template(string.Formatter):
    """str.format that leaves unknown placeholders visible instead of raising."""

    def get_value(self, key: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        return kwargs.get(key, "{" + str(key) + "}") if isinstance(key, str) else super().get_value(key, args, kwargs)


_FMT = _Template()


class _Visible(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: dict[str, Any]) -> str:
    """The message template filled in; str.format_map is C code, the Formatter above the slow general case."""
    try:
        return template.format_map(_Visible(values))
    except (ValueError, IndexError, KeyError, AttributeError, TypeError):
        return _FMT.format(template, **values)


@dataclass
class Evaluation:
    findings: list[Finding]
    applied_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (family@version, rule id, layer file or "base") of rules whose `when` held
    policy: tuple[str, str] | None = None


class Engine:
    """Evaluates shipments against a PolicySet."""

    def __init__(self, policies: PolicySet, *, family: str | None = None, version: str | None = None,
                 as_of: dt.date | None = None, env: EvalEnv | None = None, agreement: Any = None, waivers: Any = None) -> None:
        self.policies = policies
        self.default_family = family
        self.pinned = version
        self.as_of = as_of
        self.env = env or EvalEnv(categories=policies.categories)
        if self.env.categories is None:
            self.env.categories = policies.categories
        self._compiled: dict[tuple[Any, ...], list[CompiledRule]] = {}
        self._compiled_rules: dict[tuple[Any, ...], tuple[Rule, CompiledRule]] = {}  # one rule object -> its compiled rule
        self.used: dict[tuple[str, str], Version] = {}
        self.agreement = agreement
        self.waivers = waivers

    # ---- resolution -------------------------------------------------------------------------
    def _day(self, s: Shipment, fam: Family) -> dt.date:
        value = s.get("dispatch_at")
        if isinstance(value, dt.datetime):
            if value.tzinfo:
                value = value.astimezone(ZoneInfo(fam.timezone))
            return value.date()
        if isinstance(value, dt.date):
            return value
        if self.as_of:
            return self.as_of
        return dt.datetime.now(ZoneInfo(fam.timezone)).date()

    def _compile(self, fam: Family, v: Version, s: Shipment, layer: str, day: dt.date) -> list[CompiledRule]:
        origin, dest = s.get("origin_country"), s.get("destination_country")
        contract = self.agreement if self.agreement is not None and self.agreement.covers(day) else None
        key = (fam.id, v.id, origin, dest, layer, contract is not None)
        if key not in self._compiled:
            ctx = CompileCtx(fam.timezone, fam.id)
            clauses = dict(v.clauses)
            rules = v.effective_rules(origin, dest)
            if contract is not None:
                rules = contract.apply(v, rules)
                clauses.update(contract.clauses)
            out = []
            for rule in rules:
                # A rule that no country layer changes is the same object in every (origin, destination) pair's rule
                # list: compiled once, not once per pair (2026-11-22: a bench chunk's 37 partitions compiled ~1,300
                # rules in ~50 ms, in each process).
                once = (fam.id, v.id, id(rule), layer, contract is not None)
                got = self._compiled_rules.get(once)
                if got is None or got[0] is not rule:
                    r = rule if layer == "base" else Rule(rule.raw, rule.origin, layer, rule.exception)
                    also = [clauses[c] for c in r.get("also_cites", []) if c in clauses]
                    if r.get("rounding_clause") in clauses:
                        also.append(clauses[r.get("rounding_clause")])
                    got = self._compiled_rules[once] = (rule, CompiledRule(
                        r, fam, v, compile_predicate(r.when), KINDS[r.kind].compile(r.params, ctx), clauses[r.clause], also,
                        Path(r.exception["file"]).name if r.exception else "base"))
                out.append(got[1])
            self._compiled[key] = out
        return self._compiled[key]

    def resolve(self, s: Shipment) -> tuple[Family | None, Version | None, list[Finding]]:
        fid = s.get("service") or self.default_family
        if not fid:
            return None, None, [self._resolution(s, "no-policy", "no policy family: give --policy FAMILY or a 'service' column")]
        fam = self.policies.family(fid)
        if fam is None:
            known = ", ".join(f for f, x in self.policies.families.items() if not x.is_overlay)
            return None, None, [self._resolution(s, "unknown-policy", f"unknown policy family '{fid}' (known: {known})", "service", fid)]
        if self.pinned and (s.get("service") in (None, self.default_family)):
            v = fam.version(self.pinned)
            if v is None:
                return fam, None, [self._resolution(s, "unknown-version", f"{fid} has no version '{self.pinned}'")]
            return fam, v, []
        day = self._day(s, fam)
        v = fam.resolve(day)
        if v is None:
            v = fam.undated()
        if v is None:
            spans = ", ".join(f"{x.id} from {x.effective_from}" + (f" until {x.effective_until}" if x.effective_until else "")
                              for x in fam.dated())
            return fam, None, [self._resolution(s, "no-version-in-force",
                                                f"no version of {fid} is in force on {day} (versions: {spans or 'none'})",
                                                "dispatch_at", day.isoformat())]
        return fam, v, []

    def _resolution(self, s: Shipment, rid: str, message: str, fld: str | None = None, actual: Any = None) -> Finding:
        return Finding(s.shipment_id, s.row, "error", rid, "resolution", message, field=fld, actual=actual,
                       layer="resolution", fix="Check the service column, --policy and dispatch_at.",
                       country=s.get("destination_country"))

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(self, s: Shipment) -> Evaluation:
        fam, v, findings = self.resolve(s)
        if fam is None:
            return Evaluation(findings)
        result = Evaluation(findings, policy=(fam.id, v.id) if v else None)
        day = self._day(s, fam)
        if v is not None:
            self.used[(fam.id, v.id)] = v
            self._run(self._compile(fam, v, s, "base", day), s, result)
        # Overlays (maintenance notices) apply by date even when no version of the base terms is in force.
        for ov in self.policies.overlays_for(fam.id):
            ov_v = ov.resolve(day)
            if ov_v is not None:
                self.used[(ov.id, ov_v.id)] = ov_v
                self._run(self._compile(ov, ov_v, s, f"overlay:{ov.id}@{ov_v.id}", day), s, result)
        if self.waivers is not None:
            self.waivers.apply(s, result.findings, day, self.env)
        return result

    def _run(self, rules: Iterable[CompiledRule], s: Shipment, result: Evaluation) -> None:
        for cr, viol, missing_rate in self.violations(rules, s, result.applied_keys):
            result.findings.append(self._finding(cr, s, viol, missing_rate))

    def violations(self, rules: Iterable[CompiledRule], s: Shipment,
                   applied: list[tuple[str, str, str]] | None = None) -> Iterator[tuple[CompiledRule, Violation, bool]]:
        """(rule, violation, whether it is a missing exchange rate) for each rule of `rules` that `s` breaks, in order;
        the rules whose `when` held are noted in `applied`. The columnar path (checker/columnar.py) takes the
        violations themselves, since it serialises only the parts of a finding that vary (`varying`)."""
        for cr in rules:
            try:
                if not cr.when(s, self.env):
                    continue
                if applied is not None:
                    applied.append((cr.version.label, cr.rule.id, cr.layer_key))
                violations = cr.check(s, self.env)
            except MissingRate as exc:
                yield cr, Violation(None, None, f"a {exc.source}→{exc.target} rate", str(exc), severity="warning",
                                    vars={"missing_rate": f"{exc.source}→{exc.target}"}), True
                continue
            for viol in violations:
                yield cr, viol, False

    @staticmethod
    def _message(cr: CompiledRule, viol: Violation, missing_rate: bool) -> str:
        if missing_rate:
            return f"Cannot check {cr.rule.id}: {viol.detail}."
        values = {"actual": viol.actual, "expected": viol.expected, "field": viol.field, "detail": viol.detail, **viol.vars}
        return fill(cr.rule.get("message", "{detail}"), values)

    @classmethod
    def varying(cls, cr: CompiledRule, viol: Violation, missing_rate: bool = False) -> dict[str, Any]:
        """The fields of the finding `_finding` would build that differ between findings of one rule (the rest is the
        rule's: fastexplain.rule_runs), with `actual` as its JSON value."""
        return {"severity": viol.severity or cr.rule.severity, "field": viol.field, "actual": jsonable(viol.actual),
                "expected": viol.expected, "message": cls._message(cr, viol, missing_rate)}

    def _document(self, cr: CompiledRule) -> str:
        if self.agreement is not None and cr.clause.id in self.agreement.clauses:
            return f"{self.agreement.title} ({self.agreement.party})"
        return cr.version.meta.get("title") or cr.family.title

    def _finding(self, cr: CompiledRule, s: Shipment, viol: Violation, missing_rate: bool = False) -> Finding:
        r = cr.rule
        message = self._message(cr, viol, missing_rate)
        return Finding(
            shipment_id=s.shipment_id, row=s.row, severity=viol.severity or r.severity, rule_id=r.id, kind=r.kind,
            message=message, policy={"family": cr.family.id, "version": cr.version.id},
            clause={**cr.clause.citation(), "quote": r.get("quote") or cr.clause.quote,
                    "document": self._document(cr)},
            layer=r.layer, exception=r.exception, field=viol.field, actual=viol.actual, expected=viol.expected,
            fix=r.get("fix"), detail=viol.detail, also_cites=[c.citation() for c in cr.also],
            country=s.get("destination_country"),
        )
