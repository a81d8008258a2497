"""`allowed`: a value must be in a set (countries served, delivery types), optionally per another field's value."""

from __future__ import annotations

from typing import Any

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "allowed"
SUMMARY = "A field's value must be one of a listed set (optionally a set per country or per another field)."
_VALUES = {"type": "array", "items": {"type": ["string", "number", "boolean"]}}
PARAMS: dict[str, Any] = {
    "field": {"$ref": "#/$defs/field"},
    "values": {**_VALUES, "description": "The allowed values."},
    "by": {"$ref": "#/$defs/field", "description": "Pick the allowed set from `table` by this field's value."},
    "table": {"type": "object", "additionalProperties": _VALUES,
              "description": "Allowed values per value of `by`; a value of `by` absent from the table is not checked unless `default` is given."},
    "default": {**_VALUES, "description": "Allowed values when `by`'s value is not in `table`."},
}
REQUIRED = ["field"]


def describe(p: dict[str, Any]) -> str:
    if "table" in p:
        rows = "; ".join(f"{k}: {', '.join(map(str, v)) or 'none'}" for k, v in p["table"].items())
        tail = f"; otherwise {', '.join(map(str, p['default']))}" if "default" in p else ""
        return f"{p['field']} must be allowed for the shipment's {p['by']} ({rows}{tail})."
    return f"{p['field']} must be one of: {', '.join(map(str, p.get('values', [])))}."


def compile(p: dict[str, Any], ctx: Any) -> Check:
    fld = p["field"]
    fixed = list(dict.fromkeys(p.get("values", [])))  # a list, not a set: messages must list values in a stable order
    by, table, default = p.get("by"), p.get("table", {}), p.get("default")

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        value = s.get(fld)
        if value in (None, ""):
            return []
        if by:
            key = s.get(by)
            if key in (None, ""):
                return []
            allowed = table.get(key, default)
            if allowed is None:
                return []
            where = f" for {by} {key}"
        else:
            allowed, where = fixed, ""
        if value in allowed:
            return []
        shown = ", ".join(map(str, allowed)) or "none"
        expected = ("one of " + shown) if allowed else "none allowed"
        return [Violation(fld, value, expected + where, f"{fld} {value} is not allowed{where}",
                          vars={"allowed": shown, "key": key if by else ""})]
    return check
