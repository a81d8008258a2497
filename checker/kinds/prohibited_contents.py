"""`prohibited_contents`: declared categories that are prohibited, and keyword screening of the description."""

from __future__ import annotations

from typing import Any

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "prohibited_contents"
SUMMARY = ("Prohibited contents categories: a declared prohibited category is a violation; a keyword of one in the "
           "contents description, without the category declared, is a warning naming the keyword.")
PARAMS: dict[str, Any] = {
    "categories": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                   "description": "Category ids from policies/categories.yaml."},
    "screen_keywords": {"type": "boolean", "default": True},
    "keyword_severity": {"enum": ["error", "warning", "info"], "default": "warning"},
}
REQUIRED = ["categories"]


def describe(p: dict[str, Any]) -> str:
    text = "Prohibited contents: " + ", ".join(p["categories"]) + "."
    if p.get("screen_keywords", True):
        text += " The contents description is screened for their keywords."
    return text


def compile(p: dict[str, Any], ctx: Any) -> Check:
    banned = list(p["categories"])
    banned_set = set(banned)
    screen = p.get("screen_keywords", True)
    kw_severity = p.get("keyword_severity", "warning")

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        declared = s.get("contents_categories") or []
        out = [Violation("contents_categories", c, "none of " + ", ".join(banned), f"{c} is prohibited",
                         vars={"category": c}) for c in declared if c in banned_set]
        text = s.get("contents")
        if screen and text and env.categories is not None:
            flagged = {v.actual for v in out}
            for cid, word in env.categories.screen(str(text), [c for c in banned if c not in flagged and c not in declared]):
                out.append(Violation("contents", word, f"no {cid} (keyword '{word}')",
                                     f"the description mentions '{word}' ({cid}) without declaring it",
                                     severity=kw_severity, vars={"category": cid, "keyword": word}))
        return out
    return check
