"""Policy objects: families, versions, clauses, rules and country layers, as loaded from YAML."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .categories import Categories
from .yamlio import Mark

COMMON_KEYS = ("id", "kind", "clause", "also_cites", "quote", "title", "severity", "when", "message", "fix", "note")


@dataclass
class Clause:
    id: str
    title: str
    quote: str
    language: str
    source: str
    summary_en: str = ""
    checkable: bool = True
    renumbered_from: str | None = None
    other_quotes: list[dict[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    origin: Mark | None = None

    def citation(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "quote": self.quote, "language": self.language, "source": self.source}


@dataclass
class Rule:
    """A rule as data; `params` are the kind's own fields. `layer` says which layer defined its final form."""

    raw: dict[str, Any]
    origin: Mark
    layer: str = "base"
    exception: dict[str, Any] | None = None
    marks: dict[str, Mark] = field(default_factory=dict)  # where each key (and list item, "also_cites/0") stands

    def mark(self, key: str) -> Mark:
        return self.marks.get(key, self.origin)

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def kind(self) -> str:
        return self.raw["kind"]

    @property
    def clause(self) -> str:
        return self.raw["clause"]

    @property
    def severity(self) -> str:
        return self.raw["severity"]

    @property
    def when(self) -> dict[str, Any] | None:
        return self.raw.get("when")

    @property
    def params(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw.items() if k not in COMMON_KEYS}

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def merged(self, override: dict[str, Any], layer: str, exception: dict[str, Any]) -> "Rule":
        data = copy.deepcopy(self.raw)
        data.update(copy.deepcopy(override))
        return Rule(data, self.origin, layer, exception, self.marks)


@dataclass
class CountryLayer:
    """A country exception file: overrides, disables and additions for the listed countries."""

    file: str
    countries: list[str]
    applies_to: str
    title: str
    note: str
    override: dict[str, dict[str, Any]]
    disable: list[dict[str, str]]
    add: list[Rule]
    origin: Mark


@dataclass
class Version:
    family: str
    id: str
    status: str
    effective_from: dt.date | None
    effective_until: dt.date | None
    supersedes: str | None
    meta: dict[str, Any]
    clauses: dict[str, Clause]
    rules: list[Rule]
    layers: list[CountryLayer]
    tables: dict[str, Any]
    path: str
    sha256: str
    files: list[str]
    marks: dict[str, Mark] = field(default_factory=dict)  # policy.yaml metadata keys -> position
    _cache: dict[tuple[str | None, str | None], list[Rule]] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"{self.family}@{self.id}"

    def effective_rules(self, origin: str | None, dest: str | None) -> list[Rule]:
        """Base rules with the country layers for this origin/destination applied; cached per relevant pair."""
        dest_key = dest if any(dest in ly.countries for ly in self.layers if ly.applies_to == "destination") else None
        origin_key = origin if any(origin in ly.countries for ly in self.layers if ly.applies_to == "origin") else None
        key = (origin_key, dest_key)
        if key not in self._cache:
            self._cache[key] = self._apply_layers(origin_key, dest_key)
        return self._cache[key]

    def _apply_layers(self, origin: str | None, dest: str | None) -> list[Rule]:
        rules = {r.id: r for r in self.rules}
        order = [r.id for r in self.rules]
        for ly in self.layers:
            country = dest if ly.applies_to == "destination" else origin
            if country is None or country not in ly.countries:
                continue
            exc = {"country": country, "applies_to": ly.applies_to, "file": ly.file}
            for rid, ov in ly.override.items():
                if rid in rules:
                    rules[rid] = rules[rid].merged(ov, f"country:{country}", {**exc, "action": "override"})
            for d in ly.disable:
                rules.pop(d["rule"], None)
            for r in ly.add:
                added = Rule(r.raw, r.origin, f"country:{country}", {**exc, "action": "add"})
                if added.id not in rules:
                    order.append(added.id)
                rules[added.id] = added
        return [rules[i] for i in order if i in rules]


@dataclass
class Family:
    id: str
    title: str
    operator: str
    jurisdiction: str
    timezone: str
    overlay_for: list[str]
    description: str
    versions: list[Version]
    path: str

    @property
    def is_overlay(self) -> bool:
        return bool(self.overlay_for)

    def version(self, vid: str) -> Version | None:
        return next((v for v in self.versions if v.id == vid), None)

    def dated(self) -> list[Version]:
        return sorted((v for v in self.versions if v.effective_from), key=lambda v: v.effective_from)  # type: ignore[arg-type,return-value]

    def until_of(self, v: Version) -> dt.date | None:
        """Last day (exclusive) a dated version is in force: its own effective_until + 1, or the next version's start."""
        if v.effective_until:
            return v.effective_until + dt.timedelta(days=1)
        dated = self.dated()
        later = [w.effective_from for w in dated if w.effective_from and v.effective_from and w.effective_from > v.effective_from]
        return min(later) if later else None

    def resolve(self, day: dt.date) -> Version | None:
        """The version in force on `day`; None before the first or after the last ends."""
        for v in self.dated():
            until = self.until_of(v)
            if v.effective_from and v.effective_from <= day and (until is None or day < until):
                return v
        return None

    def undated(self) -> Version | None:
        return next((v for v in self.versions if v.effective_from is None), None)


@dataclass
class PolicySet:
    families: dict[str, Family]
    categories: Categories
    root: str

    def family(self, fid: str) -> Family | None:
        return self.families.get(fid)

    def overlays_for(self, fid: str) -> list[Family]:
        return [f for f in self.families.values() if fid in f.overlay_for]
