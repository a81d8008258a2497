"""The naive baseline the issue measures against: csv.DictReader and a jsonschema validator on every row.

A validator is built for every row (the anti-pattern the checker avoids); the schema itself is not re-checked
each time, which `jsonschema.validate` would also do and which would make the baseline far slower still.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import jsonschema

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "schema" / "manifest.schema.json").read_text(encoding="utf-8"))
PROPS = SCHEMA["properties"]


def convert(row: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in row.items():
        if v == "" or k not in PROPS:
            continue
        kind = PROPS[k].get("type")
        if kind == "number":
            try:
                out[k] = float(v.replace(",", "."))
            except ValueError:
                out[k] = v
        elif kind == "boolean":
            out[k] = v.lower() in ("true", "1", "yes")
        elif kind == "array":
            out[k] = v.split(";")
        else:
            out[k] = v
    return out


def main(path: str) -> int:
    errors = 0
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            if not jsonschema.Draft202012Validator(SCHEMA).is_valid(convert(row)):
                errors += 1
    print(json.dumps({"invalid_rows": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
