"""`dimensions`: does the parcel fit one of the document's size categories (or one box)?

The terms define "height" per category (§ 4 ust. 2 of the 2025 InPost terms: the shortest
side for A and B, the middle side for C) and round measurements (§ 4 ust. 4). Both are
parameters here, so a partner's table with other semantics is data, not code.
"""

from __future__ import annotations

from typing import Any

from ..shipment import EvalEnv, Shipment
from .base import ROUNDING, Check, Violation, fmt_num

NAME = "dimensions"
SUMMARY = "The parcel's three sides (and weight) must fit one of the listed size categories."

_TRIPLE = {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 3, "maxItems": 3}
PARAMS: dict[str, Any] = {
    "categories": {
        "type": "object",
        "minProperties": 1,
        "description": "Size categories from smallest to largest; the parcel is classed in the first it fits.",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "height": {"enum": ["shortest", "middle", "any"],
                           "description": "Which side is the height: shortest (A, B), middle (C), or any orientation."},
                "min_height_mm": {"type": "number", "minimum": 0},
                "min_mm": {**_TRIPLE, "description": "Minimum height x width x length."},
                "max_mm": {**_TRIPLE, "description": "Maximum height x width x length."},
                "max_weight_kg": {"type": "number", "exclusiveMinimum": 0},
            },
            "required": ["max_mm"],
        },
    },
    "rounding": {"enum": list(ROUNDING), "default": "none"},
    "rounding_clause": {"type": "string", "description": "The clause that defines the rounding, cited alongside."},
    "mode": {"enum": ["fit", "declared"], "default": "fit",
             "description": "fit: the parcel must fit some category; declared: it must fit the declared size_category."},
}
REQUIRED = ["categories"]


def _box(cat: dict[str, Any]) -> str:
    return " × ".join(fmt_num(x) for x in cat["max_mm"]) + " mm"


def describe(p: dict[str, Any]) -> str:
    parts = []
    for name, cat in p["categories"].items():
        text = f"{name}: at most {_box(cat)}"
        if "max_weight_kg" in cat:
            text += f", {fmt_num(cat['max_weight_kg'])} kg"
        if "min_height_mm" in cat:
            text += f", height at least {fmt_num(cat['min_height_mm'])} mm"
        if "min_mm" in cat:
            text += f", at least {' × '.join(fmt_num(x) for x in cat['min_mm'])} mm"
        if cat.get("height", "any") != "any":
            text += f" (height = {cat['height']} side)"
        parts.append(text)
    head = "The parcel must fit the declared size category" if p.get("mode") == "declared" else "The parcel must fit one of"
    tail = " Sides are rounded half up to whole millimetres first." if p.get("rounding") == "half_up" else ""
    return f"{head}: " + "; ".join(parts) + "." + tail


def _orient(sides: tuple[float, float, float], height: str) -> tuple[float, float, float]:
    """(height, width, length) for a category's height semantics; width <= length."""
    s, m, l = sides
    if height == "shortest":
        return (s, m, l)
    if height == "middle":
        return (m, s, l)
    return (s, m, l)


_SIDE_NAMES = ("height", "width", "length")


def broken(cat: dict[str, Any], sides: tuple[float, float, float], weight: float | None) -> list[tuple[str, str, float, str, float]]:
    """The limits of `cat` the parcel breaks, in order, as data: (field, name, value, op, limit); empty when it fits.

    Why data: classifying a parcel asks every category whether it fits, and only the category a finding explains
    needs its reasons as text (`problems`); formatting them all cost ~40 us a parcel (2026-11-22)."""
    height = cat.get("height", "any")
    h, w, l = _orient(sides, height)
    out: list[tuple[str, str, float, str, float]] = []
    mh, mw, ml = cat["max_mm"]
    if height == "any":
        box = sorted(cat["max_mm"])
        for name, side, limit in zip(("shortest side", "middle side", "longest side"), sides, box):
            if side > limit:
                out.append(("dimensions", name, side, ">", limit))
    else:
        for name, side, limit in zip(_SIDE_NAMES, (h, min(w, l), max(w, l)), (mh, min(mw, ml), max(mw, ml))):
            if side > limit:
                out.append(("dimensions", name, side, ">", limit))
    if "min_height_mm" in cat and h < cat["min_height_mm"]:
        out.append(("dimensions", "height", h, "<", cat["min_height_mm"]))
    if "min_mm" in cat:
        for name, side, limit in zip(("shortest side", "middle side", "longest side"), sides, sorted(cat["min_mm"])):
            if side < limit:
                out.append(("dimensions", name, side, "<", limit))
    if weight is not None and "max_weight_kg" in cat and weight > cat["max_weight_kg"]:
        out.append(("weight_kg", "weight", weight, ">", cat["max_weight_kg"]))
    return out


def problems(cat: dict[str, Any], sides: tuple[float, float, float], weight: float | None) -> list[tuple[str, str]]:
    """Why the parcel does not fit `cat`: (field, reason) pairs; empty when it fits."""
    return _reasons(broken(cat, sides, weight))


_UNITS = {"dimensions": "mm", "weight_kg": "kg"}


def _reasons(limits: list[tuple[str, str, float, str, float]]) -> list[tuple[str, str]]:
    return [(fld, f"{name} {fmt_num(value)} {_UNITS[fld]} {op} {fmt_num(limit)} {_UNITS[fld]}")
            for fld, name, value, op, limit in limits]


def classify(p: dict[str, Any], sides: tuple[float, float, float], weight: float | None) -> str | None:
    """The first (smallest) category the parcel fits, or None."""
    for name, cat in p["categories"].items():
        if not broken(cat, sides, weight):
            return name
    return None


def raw_order(s: Shipment) -> list[float]:
    """The sides as the shipper wrote them (length, width, height), for messages."""
    return [s.get(k) for k in ("length_mm", "width_mm", "height_mm")]


def compile(p: dict[str, Any], ctx: Any) -> Check:
    rnd = ROUNDING[p.get("rounding", "none")]
    cats: dict[str, dict[str, Any]] = p["categories"]
    declared_mode = p.get("mode") == "declared"
    expected_all = "; ".join(f"{n}: ≤ {_box(c)}" + (f", ≤ {fmt_num(c['max_weight_kg'])} kg" if "max_weight_kg" in c else "")
                             for n, c in cats.items())

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        raw = s.sides
        if raw is None:
            return []
        sides = tuple(sorted(rnd(x) for x in raw))
        weight = s.get("weight_kg")
        weight = weight if isinstance(weight, (int, float)) else None
        shown = " × ".join(fmt_num(rnd(x)) for x in raw_order(s)) + " mm" + (f", {fmt_num(weight)} kg" if weight is not None else "")
        if declared_mode:
            declared = s.get("size_category")
            if not declared:
                return []
            if declared not in cats:
                return [Violation("size_category", declared, "one of " + ", ".join(cats), f"unknown size category {declared}")]
            why = problems(cats[declared], sides, weight)
            if not why:
                return []
            measured = classify(p, sides, weight)
            return [Violation("size_category", declared, f"{measured or 'no category'} (measured)",
                              "; ".join(r for _, r in why),
                              vars={"dims": shown, "measured": measured or "no size category"})]
        limits = {}
        for name, cat in cats.items():
            limits[name] = broken(cat, sides, weight)
            if not limits[name]:
                return []
        # Explain against the category that comes closest (fewest broken limits; the smaller on a tie).
        best = min(limits.items(), key=lambda kv: len(kv[1]))
        why = _reasons(best[1])
        fld = "weight_kg" if all(f == "weight_kg" for f, _ in why) else "dimensions"
        return [Violation(fld, shown, expected_all, f"size {best[0]}: " + "; ".join(r for _, r in why),
                          vars={"dims": shown, "weight": fmt_num(weight) if weight is not None else "?", "closest": best[0]})]
    return check
