"""The shared contents taxonomy (policies/categories.yaml) with its keyword screeners compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Category:
    id: str
    names: dict[str, str]
    keywords: dict[str, list[str]]
    description_en: str = ""
    pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


def _keyword_regex(keywords: list[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive alternation; a trailing * makes a prefix (Polish and Hungarian inflect)."""
    parts = []
    for kw in sorted({k.strip() for k in keywords if k.strip()}, key=len, reverse=True):
        prefix = kw.endswith("*")
        body = re.escape(kw.rstrip("*")).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if prefix else ""))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


@dataclass
class Categories:
    by_id: dict[str, Category] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> "Categories":
        out = cls()
        for cid, spec in ((data or {}).get("categories") or {}).items():
            kws = [k for words in (spec.get("keywords") or {}).values() for k in words]
            out.by_id[cid] = Category(cid, spec.get("names", {}), spec.get("keywords", {}), spec.get("description_en", ""),
                                      _keyword_regex(kws))
        return out

    def screen(self, text: str, ids: list[str]) -> list[tuple[str, str]]:
        """(category id, matched keyword) for each category in `ids` whose keywords occur in `text`."""
        hits = []
        for cid in ids:
            cat = self.by_id.get(cid)
            if cat and cat.pattern:
                m = cat.pattern.search(text)
                if m:
                    hits.append((cid, m.group(0)))
        return hits
