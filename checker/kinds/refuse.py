"""`refuse`: every shipment the rule's `when` selects is refused (a withdrawn service, COD where it is not offered).

The condition lives entirely in `when`; this kind only says "and that is not allowed", so
prohibitions read as data: `when: {all: [{field: destination_country, op: eq, value: IT},
{field: cod_amount, op: present}]}` plus `kind: refuse`.
"""

from __future__ import annotations

from typing import Any

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "refuse"
SUMMARY = "Shipments matching the rule's `when` are refused (or flagged, at the rule's severity)."
PARAMS: dict[str, Any] = {
    "field": {"$ref": "#/$defs/field", "description": "The field to point at in findings (optional)."},
}
REQUIRED: list[str] = []


def describe(p: dict[str, Any]) -> str:
    return "Shipments to which this rule applies are refused."


def compile(p: dict[str, Any], ctx: Any) -> Check:
    fld = p.get("field")

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        return [Violation(fld, s.get(fld) if fld else None, "not accepted", "refused")]
    return check

