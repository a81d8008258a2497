"""`format`: phone numbers, e-mail addresses and postcodes valid for the country they are used in."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers

from ..shipment import EvalEnv, Shipment
from .base import Check, Violation

NAME = "format"
SUMMARY = "A field must be well-formed for its country: phone (mobile), e-mail, postcode, or a pattern."
PARAMS: dict[str, Any] = {
    "field": {"$ref": "#/$defs/field"},
    "format": {"enum": ["phone", "mobile_phone", "email", "postcode", "pattern", "not_pattern"]},
    "pattern": {"type": "string", "description": "Regular expression for pattern / not_pattern (case-insensitive, searched)."},
    "country_field": {"$ref": "#/$defs/field", "default": "destination_country",
                      "description": "Whose rules apply to phone numbers and postcodes."},
}
REQUIRED = ["field", "format"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


_FLAT_ENTRY = re.compile(r"([A-Z]{2}): '((?:[^']|'')*)'")


@lru_cache(maxsize=1)
def postcode_patterns() -> dict[str, re.Pattern[str]]:
    text = (Path(__file__).resolve().parent.parent / "data" / "postcodes.yaml").read_text(encoding="utf-8")
    data = flat_mapping(text)
    if data is None:  # an edit beyond `CC: 'pattern'` lines: the YAML library reads it
        import yaml

        data = yaml.safe_load(text)
    return {k: re.compile(v) for k, v in data.items()}


def flat_mapping(text: str) -> dict[str, str] | None:
    """The file's `CC: 'pattern'` lines (comments and blank lines aside) as a dict, or None if any line is something
    else. Why not the YAML library: a check whose policies come from the cache parses no other YAML, and importing
    PyYAML was 17-22 ms of every start (2026-11-22), about a tenth of a 100-row check. tests/test_kinds.py holds
    this reading to yaml.safe_load's on the shipped file."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _FLAT_ENTRY.fullmatch(line)
        if m is None or m[1] in out:
            return None
        out[m[1]] = m[2].replace("''", "'")
    return out


def describe(p: dict[str, Any]) -> str:
    fmt = p["format"]
    country = p.get("country_field", "destination_country")
    return {
        "phone": f"{p['field']} must be a valid phone number for the {country}.",
        "mobile_phone": f"{p['field']} must be a valid mobile phone number for the {country}.",
        "email": f"{p['field']} must be a valid e-mail address.",
        "postcode": f"{p['field']} must be a postcode in the format of the {country}.",
        "pattern": f"{p['field']} must match /{p.get('pattern')}/.",
        "not_pattern": f"{p['field']} must not match /{p.get('pattern')}/.",
    }[fmt]


def _phone_ok(value: str, country: str | None, mobile: bool) -> bool:
    try:
        num = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(num):
        return False
    if country and phonenumbers.region_code_for_number(num) != country:
        return False
    if mobile:
        kind = phonenumbers.number_type(num)
        return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return True


def compile(p: dict[str, Any], ctx: Any) -> Check:
    fld, fmt = p["field"], p["format"]
    country_field = p.get("country_field", "destination_country")
    rx = re.compile(p["pattern"], re.IGNORECASE) if "pattern" in p else None

    def check(s: Shipment, env: EvalEnv) -> list[Violation]:
        value = s.get(fld)
        if value in (None, ""):
            return []
        value = str(value).strip()
        country = s.get(country_field)
        if fmt in ("phone", "mobile_phone"):
            ok = _phone_ok(value, country, fmt == "mobile_phone")
            expected = f"a valid {'mobile ' if fmt == 'mobile_phone' else ''}phone number in {country or 'any country'}"
        elif fmt == "email":
            ok, expected = bool(_EMAIL.match(value)), "an e-mail address"
        elif fmt == "postcode":
            pattern = postcode_patterns().get(country or "")
            if pattern is None:
                return []
            ok, expected = bool(pattern.match(value.upper())), f"a {country} postcode ({pattern.pattern})"
        elif fmt == "pattern":
            ok, expected = bool(rx and rx.search(value)), f"matching /{p['pattern']}/"
        else:
            ok, expected = not (rx and rx.search(value)), f"not matching /{p['pattern']}/"
        return [] if ok else [Violation(fld, value, expected, f"{fld} is not {expected}")]
    return check
