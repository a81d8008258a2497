"""What every rule kind shares: the violation record and the formatting of values with units."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..shipment import EvalEnv, Shipment


@dataclass
class Violation:
    """One breach found by a kind; the engine turns it into a Finding with the rule's citation."""

    field: str | None
    actual: Any
    expected: str
    detail: str = ""
    severity: str | None = None  # a kind may lower severity (e.g. keyword screening is a warning)
    vars: dict[str, Any] = field(default_factory=dict)


Check = Callable[[Shipment, EvalEnv], list[Violation]]


class RuleLike(Protocol):
    id: str
    kind: str
    params: dict[str, Any]


def fmt_num(x: Any) -> str:
    """Numbers as a person writes them: 640 not 640.0, 0.5 not 0.50000001."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.3f}".rstrip("0").rstrip(".")


def with_unit(x: Any, unit: str | None) -> str:
    return f"{fmt_num(x)} {unit}" if unit else fmt_num(x)


def round_half_up(x: float) -> float:
    """§ 4 ust. 4 style rounding: .5 and above goes up, below .5 goes down (not banker's rounding)."""
    import math

    return float(math.floor(x + 0.5))


ROUNDING = {"none": lambda x: x, "half_up": round_half_up}
