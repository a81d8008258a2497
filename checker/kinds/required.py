"""`required`: fields that must be filled in (recipient contact data, address lines)."""

from __future__ import annotations

from typing import Any

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "required"
SUMMARY = "The listed manifest fields must be filled in."
PARAMS: dict[str, Any] = {
    "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}, "minItems": 1},
}
REQUIRED = ["fields"]
# Its findings depend on nothing but which fields are empty (and which cells were invalid), so the columnar engine
# explains one row per pattern of empty fields instead of one per distinct set of values.
READS_PRESENCE_ONLY = True


def describe(p: dict[str, Any]) -> str:
    return "Must be filled in: " + ", ".join(p["fields"]) + "."


def compile(p: dict[str, Any], ctx: Any) -> Check:
    fields = list(p["fields"])

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        return [Violation(f, None, "present", f"{f} is missing") for f in fields if s.get(f) in (None, "", []) and f not in s.invalid]
    return check
