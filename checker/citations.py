"""Faithful citations: every quote must occur verbatim (whitespace aside) in its source document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .model import Version
from .yamlio import Mark

_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip()


@lru_cache(maxsize=16)
def _source_text(path: str) -> str:
    return normalise(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Quote:
    where: str
    mark: Mark | None
    source: str
    text: str


def quotes_of(v: Version) -> list[Quote]:
    """Every quote a version shows to users: clauses, their other-language quotes, and rule-level excerpts."""
    out = []
    for c in v.clauses.values():
        out.append(Quote(f"clause {c.id}", c.origin, c.source, c.quote))
        for oq in c.other_quotes:
            out.append(Quote(f"clause {c.id} ({oq['language']})", c.origin, oq.get("source", c.source), oq["quote"]))
    rules = list(v.rules) + [r for ly in v.layers for r in ly.add]
    for r in rules:
        if r.get("quote"):
            out.append(Quote(f"rule {r.id}", r.origin, v.clauses[r.clause].source if r.clause in v.clauses else "", r.get("quote")))
    for ly in v.layers:
        for rid, ov in ly.override.items():
            if ov.get("quote"):
                clause_id = ov.get("clause") or next((r.clause for r in v.rules if r.id == rid), "")
                src = v.clauses[clause_id].source if clause_id in v.clauses else ""
                out.append(Quote(f"override of {rid} in {Path(ly.file).name}", ly.origin, src, ov["quote"]))
    return out


def unverified(v: Version, seeds: Path) -> list[tuple[Quote, str]]:
    """Quotes not found in their source, with the reason; empty when all are verbatim."""
    bad = []
    for q in quotes_of(v):
        path = seeds / q.source
        if "/" in q.source or "\\" in q.source or q.source in ("", ".", "..") or not path.resolve().is_relative_to(seeds.resolve()):
            bad.append((q, f"source {q.source!r} must be a file name in {seeds}, not a path"))
        elif not path.exists():
            bad.append((q, f"source document {q.source!r} is not in {seeds}"))
        elif normalise(q.text) not in _source_text(str(path)):
            bad.append((q, f"quote is not verbatim in {q.source}: \"{normalise(q.text)[:80]}\""))
    return bad
