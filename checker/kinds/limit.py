"""`limit`: one number against a bound (weight, a side, the sum of sides, a value in a currency)."""

from __future__ import annotations

from typing import Any

from ..manifest_columns import currency_field_of, unit_of
from ..shipment import EvalEnv, Shipment
from .base import ROUNDING, Check, Violation, with_unit

NAME = "limit"
SUMMARY = "A number (a measure, a weight, an amount) must stay within a bound."
PARAMS: dict[str, Any] = {
    "field": {"$ref": "#/$defs/field"},
    "max": {"type": "number"},
    "min": {"type": "number"},
    "inclusive": {"type": "boolean", "default": True, "description": "Whether the bound itself is allowed."},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "The bound is an amount in this currency."},
    "rounding": {"enum": list(ROUNDING), "description": "How the measured value is rounded before comparison."},
}
REQUIRED = ["field"]


def _unit(p: dict[str, Any]) -> str | None:
    return p.get("currency") or unit_of(p["field"])


def bounds_text(p: dict[str, Any]) -> str:
    unit = _unit(p)
    incl = p.get("inclusive", True)
    parts = []
    if "min" in p:
        parts.append(f"{'>=' if incl else '>'} {with_unit(p['min'], unit)}")
    if "max" in p:
        parts.append(f"{'<=' if incl else '<'} {with_unit(p['max'], unit)}")
    return " and ".join(parts)


def describe(p: dict[str, Any]) -> str:
    return f"{p['field']} must be {bounds_text(p)}."


def compile(p: dict[str, Any], ctx: Any) -> Check:
    fld = p["field"]
    lo, hi = p.get("min"), p.get("max")
    incl = p.get("inclusive", True)
    currency = p.get("currency")
    cur_field = currency_field_of(fld)
    rnd = ROUNDING[p.get("rounding", "none")]
    unit = _unit(p)
    expected = bounds_text(p)

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        raw = s.get(fld)
        if not isinstance(raw, (int, float)) or isinstance(raw, bool):
            return []
        value = raw
        if currency:
            source = (s.get(cur_field) if cur_field else None) or currency
            value = env.rates.convert(float(raw), source, currency)
        value = rnd(value)
        too_low = lo is not None and (value < lo if incl else value <= lo)
        too_high = hi is not None and (value > hi if incl else value >= hi)
        if not (too_low or too_high):
            return []
        shown = with_unit(value, unit)
        if currency and (s.get(cur_field) or currency) != currency:
            shown = f"{with_unit(raw, s.get(cur_field))} = {shown}"
        return [Violation(fld, raw, expected, f"{fld} is {shown}", vars={"value": shown})]
    return check
