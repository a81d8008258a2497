"""`requires`: if the rule's `when` holds, `then` must hold too (value above a threshold requires insurance)."""

from __future__ import annotations

from typing import Any

from ..predicates import compile_predicate, describe as describe_pred
from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "requires"
SUMMARY = "When the rule applies, a further condition must hold (e.g. a value above a threshold requires insurance)."
PARAMS: dict[str, Any] = {
    "then": {"$ref": "#/$defs/predicate"},
}
REQUIRED = ["then"]


def _first_field(p: dict[str, Any]) -> str | None:
    if "field" in p:
        return p["field"]
    for key in ("all", "any"):
        for q in p.get(key, []):
            f = _first_field(q)
            if f:
                return f
    return _first_field(p["not"]) if "not" in p else None


def describe(p: dict[str, Any]) -> str:
    return f"Then {describe_pred(p['then'])}."


def compile(p: dict[str, Any], ctx: Any) -> Check:
    then = compile_predicate(p["then"])
    fld = _first_field(p["then"])
    expected = describe_pred(p["then"])

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        if then(s, env):
            return []
        return [Violation(fld, s.get(fld) if fld else None, expected, f"required: {expected}")]
    return check
