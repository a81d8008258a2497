"""The finding record: one violation of one rule by one shipment, with its citation (DESIGN report contract)."""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

SEVERITIES = ("error", "warning", "info")
RANK = {"error": 3, "warning": 2, "info": 1, "never": 99}


@dataclass
class Finding:
    shipment_id: str
    row: int
    severity: str
    rule_id: str
    kind: str
    message: str
    policy: dict[str, str] | None = None
    clause: dict[str, Any] | None = None
    layer: str = "base"
    exception: dict[str, Any] | None = None
    waived: dict[str, Any] | None = None
    field: str | None = None
    actual: Any = None
    expected: str | None = None
    fix: str | None = None
    detail: str = ""
    also_cites: list[dict[str, Any]] = dc_field(default_factory=list)
    country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "shipment_id": self.shipment_id, "row": self.row, "severity": self.severity, "rule_id": self.rule_id,
            "kind": self.kind, "policy": self.policy, "clause": self.clause, "layer": self.layer,
            "exception": self.exception, "waived": self.waived, "field": self.field, "actual": jsonable(self.actual),
            "expected": self.expected, "message": self.message, "fix": self.fix, "also_cites": self.also_cites,
            "destination_country": self.country,
        }

    def key(self) -> tuple[Any, ...]:
        """Identity used by differential tests and the policy-version diff."""
        return (self.row, self.rule_id, (self.clause or {}).get("id"), self.severity, str(self.actual), self.expected)


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return str(value)
        return value
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return str(value)


def input_finding(shipment_id: str, row: int, field_name: str | None, problem: str, message: str,
                  actual: Any = None, expected: str | None = None, severity: str = "error") -> Finding:
    """A data problem in the manifest itself: kind 'input', no clause, the column in `field`."""
    if isinstance(actual, str) and len(actual) > 120:
        actual = actual[:117] + "..."
    return Finding(shipment_id, row, severity, f"input-{problem}", "input", message, field=field_name,
                   actual=actual, expected=expected, layer="input",
                   fix="Correct the manifest cell and check again.")


def status_of(findings: list[Finding]) -> str:
    active = [f for f in findings if not f.waived]
    if any(f.severity == "error" for f in active):
        return "failed"
    if any(f.severity == "warning" for f in active):
        return "warning"
    return "passed"


def shipment_record(sid: str, row: int, status: str, policy: tuple[str, str] | None, country: str | None,
                    found: list[Finding]) -> dict[str, Any]:
    return {"shipment_id": sid, "row": row, "status": status,
            "policy": {"family": policy[0], "version": policy[1]} if policy else None,
            "destination_country": country,
            "errors": sum(1 for f in found if f.severity == "error" and not f.waived),
            "warnings": sum(1 for f in found if f.severity == "warning" and not f.waived)}
