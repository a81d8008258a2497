"""`window`: date-time windows in the family's timezone (maintenance windows, cut-offs, service dates)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "window"
SUMMARY = "A date-time (by default dispatch_at) must fall outside (or inside) the listed windows, in the family's timezone."
PARAMS: dict[str, Any] = {
    "field": {"$ref": "#/$defs/field", "default": "dispatch_at"},
    "windows": {
        "type": "array", "minItems": 1,
        "items": {"type": "object", "additionalProperties": False, "required": ["from", "until"],
                  "properties": {"from": {"type": "string"}, "until": {"type": "string"},
                                 "label": {"type": "string"}}},
        "description": "Half-open intervals [from, until); naive times are in the family's timezone.",
    },
    "mode": {"enum": ["forbidden", "required"], "default": "forbidden"},
}
REQUIRED = ["windows"]


def describe(p: dict[str, Any]) -> str:
    spans = "; ".join(f"{w['from']} – {w['until']}" for w in p["windows"])
    verb = "must not fall within" if p.get("mode", "forbidden") == "forbidden" else "must fall within"
    return f"{p.get('field', 'dispatch_at')} {verb}: {spans}."


def _aware(value: str | dt.datetime, tz: ZoneInfo) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def compile(p: dict[str, Any], ctx: Any) -> Check:
    tz = ZoneInfo(ctx.timezone)
    fld = p.get("field", "dispatch_at")
    spans = [(_aware(w["from"], tz), _aware(w["until"], tz), w) for w in p["windows"]]
    forbidden = p.get("mode", "forbidden") == "forbidden"

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        value = s.get(fld)
        if value is None:
            return []
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return []  # a bare date cannot be placed inside an hour window
        moment = _aware(value, tz)
        inside = [w for a, b, w in spans if a <= moment < b]
        if forbidden and inside:
            w = inside[0]
            return [Violation(fld, moment.isoformat(), f"outside {w['from']} – {w['until']}", w.get("label", "inside the window"))]
        if not forbidden and not inside:
            return [Violation(fld, moment.isoformat(), "within " + "; ".join(f"{w['from']} – {w['until']}" for _, _, w in spans),
                              "outside every allowed window")]
        return []
    return check
