"""The shared contents taxonomy (policies/categories.yaml) with its keyword screeners compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


_WORD = re.compile(r"\w+")


@dataclass
class Matcher:
    """Whole-word, case-insensitive keyword matching; a trailing * makes a prefix (Polish and Hungarian inflect).

    Words are compared as sets and prefixes with str.startswith, not as one giant regular expression:
    thousands of keywords compile in microseconds instead of half a second at every start.
    """

    words: frozenset[str]
    prefixes: tuple[str, ...]
    phrases: dict[str, tuple[tuple[tuple[str, ...], bool], ...]]  # first word -> (words, last word is a prefix)

    @classmethod
    def build(cls, keywords: list[str]) -> "Matcher":
        words, prefixes, phrases = set(), [], []
        for kw in {k.strip().lower() for k in keywords if k.strip()}:
            prefix = kw.endswith("*")
            parts = tuple(_WORD.findall(kw.rstrip("*")))
            if not parts:
                continue
            if len(parts) > 1:
                phrases.append((parts, prefix))
            elif prefix:
                prefixes.append(parts[0])
            else:
                words.add(parts[0])
        by_first: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
        for parts, prefix in sorted(phrases):
            by_first.setdefault(parts[0], []).append((parts, prefix))
        return cls(frozenset(words), tuple(sorted(prefixes)), {k: tuple(v) for k, v in by_first.items()})

    def first_words(self) -> set[str]:
        """The first word of every keyword: a text can only hit one if it contains that word (or prefix)."""
        return set(self.words) | set(self.prefixes) | set(self.phrases)

    def find(self, tokens: list[str]) -> tuple[int, int] | None:
        """(first, last) token index of the first keyword hit, or None."""
        for i, tok in enumerate(tokens):
            if tok in self.words or (self.prefixes and tok.startswith(self.prefixes)):
                return i, i
            for parts, prefix in self.phrases.get(tok, ()):
                n = len(parts)
                if tokens[i:i + n - 1] == list(parts[:-1]) and i + n - 1 < len(tokens):
                    last = tokens[i + n - 1]
                    if last == parts[-1] or (prefix and last.startswith(parts[-1])):
                        return i, i + n - 1
        return None


@dataclass
class Category:
    id: str
    names: dict[str, str]
    keywords: dict[str, list[str]]
    description_en: str = ""
    matcher: Matcher | None = field(default=None, repr=False)

    def name(self, lang: str = "en") -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


@dataclass
class Categories:
    by_id: dict[str, Category] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> "Categories":
        out = cls()
        for cid, spec in ((data or {}).get("categories") or {}).items():
            kws = [k for words in (spec.get("keywords") or {}).values() for k in words]
            out.by_id[cid] = Category(cid, spec.get("names", {}), spec.get("keywords", {}), spec.get("description_en", ""),
                                      Matcher.build(kws))
        return out

    @cached_property
    def prefilter(self) -> str:
        """A regex over lower-cased text that matches wherever `screen` could find any keyword: the first words
        of all keywords as plain substrings (phrases are matched word by word, so "li-ion" also hits "Li ion",
        which a regex of the whole keyword would miss)."""
        firsts = set().union(*(c.matcher.first_words() for c in self.by_id.values() if c.matcher))
        return "|".join(re.escape(w) for w in sorted(firsts))

    def screen(self, text: str, ids: list[str]) -> list[tuple[str, str]]:
        """(category id, matched keyword) for each category in `ids` whose keywords occur in `text`."""
        hits = []
        spans = [m.span() for m in _WORD.finditer(text)]
        tokens = [text[a:b].lower() for a, b in spans]
        for cid in ids:
            cat = self.by_id.get(cid)
            if cat and cat.matcher:
                hit = cat.matcher.find(tokens)
                if hit:
                    hits.append((cid, text[spans[hit[0]][0]:spans[hit[1]][1]]))  # the keyword as the shipper wrote it
        return hits
