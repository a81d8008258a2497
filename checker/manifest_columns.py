"""The manifest column contract, read from schema/manifest.schema.json so code and contract cannot drift."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .paths import schema_dir


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    return json.loads((schema_dir() / "manifest.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def columns() -> dict[str, dict[str, Any]]:
    return manifest_schema()["properties"]


@lru_cache(maxsize=1)
def aliases() -> dict[str, tuple[str, float]]:
    """Unit variant column -> (canonical column, factor to the canonical unit)."""
    out: dict[str, tuple[str, float]] = {}
    for name, spec in columns().items():
        for alias, factor in spec.get("x-aliases", {}).items():
            out[alias] = (name, float(factor))
    return out


def value_type(spec: dict[str, Any]) -> str:
    """A column's value type: its x-type (datetime, country, list ...), else its JSON type, else string."""
    return spec.get("x-type") or spec.get("type") or "string"


def currency_field_of(name: str) -> str | None:
    spec = columns().get(name, {})
    return spec.get("x-currency-field")


def unit_of(name: str) -> str | None:
    from .shipment import DERIVED

    if name in DERIVED:
        return DERIVED[name][1]
    return columns().get(name, {}).get("x-unit")
