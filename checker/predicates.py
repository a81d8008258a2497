"""`when` predicates: structured data compiled once into closures.

Policy files never contain code; a predicate is `{field, op, value}` combined with
`all`, `any`, `not`. Missing values are treated as the terms would: a parcel without a
destination is not "in [AT, HU]" and is "not in [AT, HU]".
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

from .shipment import DERIVED, EvalEnv, Shipment

Pred = Callable[[Shipment, EvalEnv], bool]

OPS = ("eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "present", "absent", "matches")

_WORDS = {
    "eq": "is", "ne": "is not", "in": "is one of", "not_in": "is not one of", "lt": "is below",
    "le": "is at most", "gt": "is above", "ge": "is at least", "present": "is given",
    "absent": "is not given", "matches": "matches",
}


def schema(fields: list[str]) -> dict[str, Any]:
    """JSON Schema of a predicate; `fields` are the manifest columns and derived measures."""
    return {
        "type": "object",
        "description": "A structured condition: {field, op, value} or all/any/not of conditions.",
        "additionalProperties": False,
        "properties": {
            "all": {"type": "array", "items": {"$ref": "#/$defs/predicate"}, "minItems": 1},
            "any": {"type": "array", "items": {"$ref": "#/$defs/predicate"}, "minItems": 1},
            "not": {"$ref": "#/$defs/predicate"},
            "field": {"enum": fields},
            "op": {"enum": list(OPS)},
            "value": {},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$",
                         "description": "The value is an amount in this currency; the field's amount is converted with --rates."},
        },
        "oneOf": [
            {"required": ["all"], "maxProperties": 1},
            {"required": ["any"], "maxProperties": 1},
            {"required": ["not"], "maxProperties": 1},
            {"required": ["field", "op"], "not": {"anyOf": [{"required": ["all"]}, {"required": ["any"]}, {"required": ["not"]}]}},
        ],
    }


def field_names(manifest_schema: dict[str, Any]) -> list[str]:
    return list(manifest_schema["properties"]) + list(DERIVED)


def _amount(s: Shipment, env: EvalEnv, fld: str, currency: str | None) -> Any:
    """The field's value, converted to `currency` when the predicate names one."""
    value = s.get(fld)
    if currency is None or value is None:
        return value
    from .manifest_columns import currency_field_of  # local import: columns load the manifest schema

    cur_field = currency_field_of(fld)
    source = (s.get(cur_field) if cur_field else None) or currency
    return env.rates.convert(float(value), source, currency)


def compile_predicate(p: dict[str, Any] | None) -> Pred:
    """Turn predicate data into a closure; an absent predicate is always true."""
    if not p:
        return lambda s, env: True
    if "all" in p:
        parts = [compile_predicate(q) for q in p["all"]]
        return lambda s, env: all(f(s, env) for f in parts)
    if "any" in p:
        parts = [compile_predicate(q) for q in p["any"]]
        return lambda s, env: any(f(s, env) for f in parts)
    if "not" in p:
        inner = compile_predicate(p["not"])
        return lambda s, env: not inner(s, env)
    fld, op, value, currency = p["field"], p["op"], p.get("value"), p.get("currency")
    if op == "present":
        return lambda s, env: s.get(fld) not in (None, "", [])
    if op == "absent":
        return lambda s, env: s.get(fld) in (None, "", [])
    if op in ("in", "not_in"):
        members = set(value if isinstance(value, list) else [value])
        if op == "in":
            return lambda s, env: _member(s.get(fld), members)
        return lambda s, env: not _member(s.get(fld), members)
    if op == "matches":
        rx = re.compile(str(value), re.IGNORECASE)
        return lambda s, env: isinstance(s.get(fld), str) and rx.search(s.get(fld)) is not None
    cmp = _COMPARE[op]
    if op == "ne":
        return lambda s, env: s.get(fld) is None or cmp(*_comparable(_amount(s, env, fld, currency), value))

    def compare(s: Shipment, env: EvalEnv) -> bool:
        actual = _amount(s, env, fld, currency)
        if actual is None:
            return False
        try:
            return cmp(*_comparable(actual, value))
        except TypeError:
            return False
    return compare


def _comparable(actual: Any, value: Any) -> tuple[Any, Any]:
    """Policy files hold dates as ISO strings; a manifest's dispatch_at is a date or a datetime."""
    if isinstance(actual, (dt.date, dt.datetime)) and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value) if "T" in value or " " in value else dt.date.fromisoformat(value)
        if isinstance(actual, dt.datetime) and not isinstance(parsed, dt.datetime):
            return actual.date(), parsed
        if isinstance(parsed, dt.datetime) and not isinstance(actual, dt.datetime):
            return dt.datetime.combine(actual, dt.time()), parsed.replace(tzinfo=None)
        if isinstance(actual, dt.datetime) and isinstance(parsed, dt.datetime) and (actual.tzinfo is None) != (parsed.tzinfo is None):
            return actual.replace(tzinfo=None), parsed.replace(tzinfo=None)
        return actual, parsed
    return actual, value


def _member(actual: Any, members: set[Any]) -> bool:
    if isinstance(actual, list):
        return any(a in members for a in actual)
    return actual in members


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def describe(p: dict[str, Any] | None) -> str:
    """Plain-language rendering used by reports, docs and the diff."""
    if not p:
        return "every shipment"
    if "all" in p:
        return " and ".join(_paren(q) for q in p["all"])
    if "any" in p:
        return " or ".join(_paren(q) for q in p["any"])
    if "not" in p:
        return f"not ({describe(p['not'])})"
    value = p.get("value")
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value)
    else:
        shown = "" if value is None else str(value)
    if p.get("currency"):
        shown = f"{shown} {p['currency']}"
    return f"{p['field']} {_WORDS[p['op']]} {shown}".rstrip()


def _paren(p: dict[str, Any]) -> str:
    text = describe(p)
    return f"({text})" if ("all" in p or "any" in p) else text
