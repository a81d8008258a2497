"""Exchange rates from --rates FILE; thresholds in one currency compare amounts in another only through them."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import FatalInput
from .loader import schema_problems
from .shipment import Rates
from .yamlio import LoadedYaml, YamlError, load_yaml_file


def load_rates(path: str) -> Rates:
    p = Path(path)
    if p.is_dir():
        raise FatalInput(f"Cannot read rates file {path}: it is a directory, not a file.")
    if not p.is_file():
        raise FatalInput(f"Cannot read rates file {path}: the file does not exist.")
    try:
        if p.suffix.lower() == ".json":
            try:
                doc = LoadedYaml(path, json.loads(p.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise FatalInput(f"Cannot read rates file {path}: invalid JSON ({exc}).") from None
            except RecursionError:
                raise FatalInput(f"Cannot read rates file {path}: the JSON is nested too deeply.") from None
            except ValueError as exc:
                raise FatalInput(f"Cannot read rates file {path}: unusable JSON value ({exc}).") from None
        else:
            doc = load_yaml_file(p)
    except YamlError as exc:
        raise FatalInput(f"Cannot read rates file {exc.mark}: {exc.message}.") from None
    problems = schema_problems(doc, "rates.schema.json")
    if problems:
        raise FatalInput(f"Rates file {problems[0]}.")
    data = doc.data
    return Rates(base=data["base"], date=data.get("date"), per_unit=dict(data["rates"]), source=path)
