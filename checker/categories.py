"""The shared contents taxonomy (policies/categories.yaml) with its keyword screeners compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


_WORD = re.compile(r"\w+")
# In lower-cased text, a character certainly not \w (a token boundary): not an ASCII letter, digit or "_", nor a
# letter of Latin-1 or Latin Extended-A (Polish, Portuguese, Hungarian, French letters; Unicode since 1.1).
# Wider classes such as \p{L} are not safe: Rust's Unicode tables are newer than Python's, and ~9,000 characters
# are letters to one and not to the other. tests/test_fastpath.py checks that every character excluded is \w.
_WORD_CHARS = "a-z0-9_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017f"
_NOT_WORD = f"[^{_WORD_CHARS}]"


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

    def first_words(self) -> tuple[set[str], set[str]]:
        """(whole words, prefixes): a text can only hit a keyword if one of its tokens is one of the whole words
        (a single-word keyword or a phrase's first word) or starts with one of the prefixes."""
        return set(self.words) | set(self.phrases), set(self.prefixes)

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
        """A regex over lower-cased text that matches wherever `screen` could find any keyword (and more).

        A keyword hit needs a token (a run of `\\w`) equal to a first word, or starting with a prefix. A token starts
        after a character that is not `\\w`, so certainly not in _WORD_CHARS; whole words end the same way. The
        regex asks only that, in plain character classes: `\\b` would take Rust's regex engine off its fast path on
        non-ASCII text, and first words as bare substrings let nine texts in ten through ("li" is in "liściasta").
        Phrases are matched word by word, so "li-ion" also hits "Li ion", which a regex of the whole keyword misses.
        """
        whole: set[str] = set()
        prefixes: set[str] = set()
        for c in self.by_id.values():
            if c.matcher:
                w, p = c.matcher.first_words()
                whole |= w
                prefixes |= p
        whole -= prefixes  # a prefix already admits its whole word
        if not whole and not prefixes:
            return ""
        alternatives = [f"(?:{'|'.join(re.escape(w) for w in sorted(prefixes))})"] if prefixes else []
        if whole:
            alternatives.append(f"(?:{'|'.join(re.escape(w) for w in sorted(whole))})(?:{_NOT_WORD}|$)")
        return f"(?:^|{_NOT_WORD})(?:{'|'.join(alternatives)})"

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
