"""Builds schema/policy.schema.json from the common rule fields and each kind's own fragment.

The committed schema file is generated (`checker schema --write`) and a test keeps it equal to
this output, so editors get the same validation as the checker and a kind owns its fragment.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .kinds import KINDS
from .manifest_columns import manifest_schema
from .predicates import field_names, schema as predicate_schema

BASE_ID = "https://parcel-policy-checker.invalid/schema/"
CLAUSE_ID = r"^(§\d+(\.\d+)?(\.[a-z0-9]+)?(\.[A-Z]{2})?|annex-\d+[a-z]?(\.[A-Z]{2})?(\.[0-9a-z]+)*|notice(\.[0-9a-z]+)+|withdrawal|agreement\.[^\s]+)$"
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

COMMON_RULE: dict[str, Any] = {
    "id": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$", "description": "Stable kebab-case id, unique in its version."},
    "kind": {"type": "string"},
    "clause": {"type": "string", "description": "The clause id this rule enforces."},
    "also_cites": {"type": "array", "items": {"type": "string"}, "description": "Further clauses the rule relies on (e.g. rounding)."},
    "quote": {"type": "string", "minLength": 1,
              "description": "The exact words of the clause this rule enforces, when narrower than the clause's quote (e.g. one country's row of a table)."},
    "title": {"type": "string"},
    "severity": {"enum": ["error", "warning", "info"]},
    "when": {"$ref": "#/$defs/predicate"},
    "message": {"type": "string", "description": "Template: {actual} {expected} {field} {detail} and kind variables."},
    "fix": {"type": "string"},
    "note": {"type": "string", "description": "The reading chosen where the text is ambiguous, and why."},
}
COMMON_REQUIRED = ["id", "kind", "clause", "severity", "message"]


def _kind_def(name: str) -> dict[str, Any]:
    mod = KINDS[name]
    props = {**copy.deepcopy(COMMON_RULE), **copy.deepcopy(mod.PARAMS)}
    props["kind"] = {"const": name}
    return {
        "type": "object",
        "description": mod.SUMMARY,
        "additionalProperties": False,
        "required": COMMON_REQUIRED + [r for r in mod.REQUIRED if r not in COMMON_REQUIRED],
        "properties": props,
    }


def _override_def() -> dict[str, Any]:
    """A partial rule: any rule field may be replaced; `kind` and `id` cannot change."""
    variants: dict[str, list[Any]] = {}
    for mod in KINDS.values():
        for key, sub in mod.PARAMS.items():
            if sub not in variants.setdefault(key, []):
                variants[key].append(copy.deepcopy(sub))
    props: dict[str, Any] = {k: v[0] if len(v) == 1 else {"anyOf": v} for k, v in variants.items()}
    props.update({k: v for k, v in copy.deepcopy(COMMON_RULE).items() if k not in ("id", "kind")})
    return {"type": "object", "additionalProperties": False, "properties": props, "minProperties": 1}


def build() -> dict[str, Any]:
    fields = field_names(manifest_schema())
    rule_dispatch = [
        {"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]}, "then": {"$ref": f"#/$defs/rule_{k}"}}
        for k in KINDS
    ]
    clause = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title", "quote"],
        "properties": {
            "id": {"type": "string", "pattern": CLAUSE_ID},
            "title": {"type": "string"},
            "quote": {"type": "string", "minLength": 1, "description": "Verbatim excerpt of the source document."},
            "language": {"type": "string", "description": "Language of the quote; default: the version's first source."},
            "source": {"type": "string", "pattern": r"^[^/\\]+$", "description": "Source file name; default: the version's first source."},
            "summary_en": {"type": "string"},
            "checkable": {"type": "boolean", "default": True, "description": "false: not mechanically checkable; kept for docs and diff."},
            "renumbered_from": {"type": "string", "description": "The clause id this text had in the previous version."},
            "other_quotes": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["language", "quote"],
                "properties": {"language": {"type": "string"}, "source": {"type": "string"}, "quote": {"type": "string"}}}},
            "data": {"type": "object", "description": "Numbers the clause gives (storage days, caps), as structured data."},
        },
    }
    source = {
        "type": "object",
        "additionalProperties": False,
        "required": ["file", "language", "binding"],
        "properties": {
            "file": {"type": "string", "pattern": r"^[^/\\]+$", "not": {"enum": [".", ".."]},
                     "description": "A file name in the seeds folder; no paths."},
            "title": {"type": "string"},
            "language": {"type": "string"},
            "binding": {"type": "boolean"},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "note": {"type": "string"},
        },
    }
    table = {
        "type": "object",
        "additionalProperties": False,
        "required": ["title", "columns", "rows"],
        "properties": {
            "title": {"type": "string"},
            "clause": {"type": "string"},
            "columns": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": {"type": "array"}},
            "note": {"type": "string"},
        },
    }
    country_exception = {
        "type": "object",
        "additionalProperties": False,
        "required": ["countries"],
        "properties": {
            "$schema": {"type": "string"},
            "countries": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]{2}$"}, "minItems": 1},
            "applies_to": {"enum": ["destination", "origin"], "default": "destination"},
            "title": {"type": "string"},
            "note": {"type": "string"},
            "override": {"type": "object", "additionalProperties": {"$ref": "#/$defs/rule_override"},
                         "description": "Base rule id -> the fields this country changes."},
            "disable": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["rule", "clause", "reason"],
                "properties": {"rule": {"type": "string"}, "clause": {"type": "string"}, "reason": {"type": "string"}}}},
            "add": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
            "clauses": {"type": "array", "items": {"$ref": "#/$defs/clause"}},
        },
    }
    family = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title", "operator", "timezone"],
        "properties": {
            "$schema": {"type": "string"},
            "id": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
            "title": {"type": "string"},
            "operator": {"type": "string"},
            "jurisdiction": {"type": "string"},
            "timezone": {"type": "string"},
            "overlay_for": {"type": "array", "items": {"type": "string"},
                            "description": "This family is an overlay applied on top of these families."},
            "description": {"type": "string"},
        },
    }
    tests = {
        "type": "object",
        "additionalProperties": False,
        "required": ["cases"],
        "properties": {
            "$schema": {"type": "string"},
            "cases": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False, "required": ["name", "shipment", "expect"],
                "properties": {
                    "name": {"type": "string"},
                    "note": {"type": "string"},
                    "as_of": DATE,
                    "shipment": {"type": "object"},
                    "expect": {"type": "array", "items": {
                        "type": "object", "additionalProperties": False, "required": ["rule"],
                        "properties": {"rule": {"type": "string"}, "clause": {"type": "string"},
                                       "severity": {"enum": ["error", "warning", "info"]},
                                       "field": {"type": "string"}, "layer": {"type": "string"}}}},
                    "expect_passing": {"type": "array", "items": {"type": "string"},
                                       "description": "Rules that must apply to this shipment and find nothing."},
                }}},
        },
    }
    defs: dict[str, Any] = {
        "field": {"enum": fields},
        "predicate": predicate_schema(fields),
        "clause": clause,
        "source": source,
        "table": table,
        "rule": {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": list(KINDS)}}, "allOf": rule_dispatch},
        "rule_override": _override_def(),
        "country_exception": country_exception,
        "family": family,
        "policy_tests": tests,
    }
    for k in KINDS:
        defs[f"rule_{k}"] = _kind_def(k)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_ID + "policy.schema.json",
        "title": "Policy version file (policy.yaml and its annex files)",
        "description": "Generated by `checker schema --write` from checker/policy_schema.py and the rule kinds; do not edit by hand.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string"},
            "version": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$|^[a-z0-9-]+$"},
            "title": {"type": "string"},
            "status": {"enum": ["in_force", "withdrawn", "superseded", "draft"]},
            "effective_from": {"oneOf": [DATE, {"type": "null"}]},
            "effective_until": {"oneOf": [DATE, {"type": "null"}]},
            "supersedes": {"type": ["string", "null"]},
            "published_on": {"oneOf": [DATE, {"type": "null"}]},
            "last_verified_on": DATE,
            "binding_language": {"type": "string"},
            "sources": {"type": "array", "items": {"$ref": "#/$defs/source"}, "minItems": 1},
            "notes": {"type": "array", "items": {"type": "string"}},
            "discrepancies": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "required": ["topic", "detail"],
                "properties": {"topic": {"type": "string"}, "detail": {"type": "string"}, "resolution": {"type": "string"}}}},
            "clauses": {"type": "array", "items": {"$ref": "#/$defs/clause"}},
            "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
            "tables": {"type": "object", "additionalProperties": {"$ref": "#/$defs/table"}},
        },
        "if": {"required": ["version"]},
        "then": {"required": ["version", "status", "effective_from", "sources"]},
        "$defs": defs,
    }


def wrappers() -> dict[str, dict[str, Any]]:
    """Small per-file-type schemas that point into policy.schema.json (for editors)."""
    def wrap(name: str, title: str, ref: str) -> dict[str, Any]:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + name, "title": title,
                "$ref": f"policy.schema.json#/$defs/{ref}"}
    return {
        "family.schema.json": wrap("family.schema.json", "Policy family (family.yaml)", "family"),
        "country-exception.schema.json": wrap("country-exception.schema.json", "Country exception layer (countries/XX.yaml)", "country_exception"),
        "policy-tests.schema.json": wrap("policy-tests.schema.json", "Policy test cases (tests/*.yaml)", "policy_tests"),
    }


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
