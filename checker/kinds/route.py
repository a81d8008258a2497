"""`route`: the origin -> destination pair must be a served lane (a matrix such as Annex 2's transit times)."""

from __future__ import annotations

from typing import Any

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "route"
SUMMARY = "The origin and destination countries must form a lane the document serves."
PARAMS: dict[str, Any] = {
    "lanes": {
        "type": "object",
        "description": "origin -> destination -> estimated transit days (null: served, no estimate). A pair not listed is not served.",
        "propertyNames": {"pattern": "^[A-Z]{2}$"},
        "additionalProperties": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Z]{2}$"},
            "additionalProperties": {"type": ["integer", "null"], "minimum": 0},
        },
    },
    "days_unit": {"type": "string", "default": "working days"},
}
REQUIRED = ["lanes"]


def describe(p: dict[str, Any]) -> str:
    rows = "; ".join(f"from {o} to {', '.join(d)}" for o, d in p["lanes"].items())
    return f"Served lanes: {rows}. Any other origin/destination pair is not served."


def served(p: dict[str, Any], origin: str, dest: str) -> bool:
    return dest in p["lanes"].get(origin, {})


def compile(p: dict[str, Any], ctx: Any) -> Check:
    lanes: dict[str, dict[str, Any]] = p["lanes"]

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        origin, dest = s.get("origin_country"), s.get("destination_country")
        if not origin or not dest:
            return []
        if origin not in lanes:
            return [Violation("origin_country", origin, "one of " + ", ".join(lanes),
                              f"{origin} is not a served origin country", vars={"lane": f"{origin}→{dest}"})]
        if dest in lanes[origin]:
            return []
        return [Violation("destination_country", dest, f"from {origin}: " + ", ".join(lanes[origin]),
                          f"lane {origin}→{dest} is not served", vars={"lane": f"{origin}→{dest}"})]
    return check
