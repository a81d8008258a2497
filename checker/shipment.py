"""A normalised manifest row, with the derived measures rules talk about.

The manifest gives three sides in any order; the terms speak of the shortest, the middle
and the longest side, of sums and girths. Deriving them in one place keeps every rule kind
and every predicate in agreement about what "height" means.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import MissingRate


def _sides(s: "Shipment") -> tuple[float, float, float] | None:
    vals = [s.values.get(k) for k in ("length_mm", "width_mm", "height_mm")]
    if any(not isinstance(v, (int, float)) for v in vals):
        return None
    return tuple(sorted(vals))  # type: ignore[return-value]


def _side(i: int) -> Callable[["Shipment"], float | None]:
    def get(s: "Shipment") -> float | None:
        sides = s.sides
        return None if sides is None else sides[i]
    return get


def _sum(s: "Shipment") -> float | None:
    return None if s.sides is None else sum(s.sides)


def _girth(s: "Shipment") -> float | None:
    if s.sides is None:
        return None
    a, b, c = s.sides
    return c + 2 * (a + b)


def _volume_l(s: "Shipment") -> float | None:
    if s.sides is None:
        return None
    a, b, c = s.sides
    return a * b * c / 1_000_000


# Derived measures: name -> (function, unit, plain-language description). Predicates and limits may use them as fields.
DERIVED: dict[str, tuple[Callable[["Shipment"], Any], str, str]] = {
    "shortest_side_mm": (_side(0), "mm", "the shortest side"),
    "middle_side_mm": (_side(1), "mm", "the middle side (neither shortest nor longest)"),
    "longest_side_mm": (_side(2), "mm", "the longest side"),
    "sum_of_sides_mm": (_sum, "mm", "the sum of the three sides"),
    "girth_mm": (_girth, "mm", "the longest side plus twice the sum of the other two"),
    "volume_l": (_volume_l, "l", "the volume in litres"),
}


@dataclass
class Shipment:
    """One manifest record after reading and normalisation."""

    row: int
    values: dict[str, Any]
    shipment_id: str = ""
    source: str = ""
    invalid: set[str] = field(default_factory=set)  # columns whose cell was unusable (already reported as input findings)
    _sides: tuple[float, float, float] | None | bool = field(default=False, repr=False)

    @property
    def sides(self) -> tuple[float, float, float] | None:
        if self._sides is False:
            self._sides = _sides(self)
        return self._sides  # type: ignore[return-value]

    def get(self, name: str) -> Any:
        if name in DERIVED:
            return DERIVED[name][0](self)
        return self.values.get(name)


@dataclass
class Rates:
    """Exchange rates as the value of one unit of each currency in `base`; a run never guesses a missing one."""

    base: str = "PLN"
    date: str | None = None
    per_unit: dict[str, float] = field(default_factory=dict)  # currency -> value of 1 unit in `base`
    source: str | None = None

    def convert(self, amount: float, source: str, target: str) -> float:
        """Convert through the base currency; a missing rate raises MissingRate naming the pair asked for."""
        if source == target:
            return amount
        try:
            return amount * self._in_base(source) / self._in_base(target)
        except KeyError:
            raise MissingRate(source, target) from None

    def _in_base(self, currency: str) -> float:
        return 1.0 if currency == self.base else self.per_unit[currency]


@dataclass
class EvalEnv:
    """What evaluation needs besides the shipment: rates, the category taxonomy and the reference time."""

    rates: Rates = field(default_factory=Rates)
    categories: Any = None
    now: dt.datetime | None = None
