"""A finding's JSON line cut into its runs of members, and findings read back from their lines cheaply.

Why: ~1.3 kB of a finding's ~1.6 kB is its rule's own: the clause, the quotes, the fix, the cited annexes. The columnar
run writes those runs once per rule (checker/fastexplain.py rule_runs); the renderers that read every finding of a
million-row report back (HTML, text, JUnit, SARIF, GitHub annotations) decode them once per rule too, instead of once
per finding (json.loads of a whole line cost ~11 us, 2026-11-23).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

import orjson

from .recordlog import loads as _loads

_CACHED_RUNS = 4096  # distinct rule runs remembered; a rule's runs vary only with its layer, exception and waiver


def line_runs(line: str) -> tuple[str, str, str, str, str, str]:
    """A finding's JSON line (dumps of Finding.to_dict) cut into its six runs of members: `{"shipment_id":…,"row":…`,
    `"severity":…`, the rule's own from `"rule_id"` to `"waived"`, the varying `"field"` to `"message"`, the rule's own
    `"fix"` and `"also_cites"`, and `"destination_country":…}`.

    A raw `,"` occurs in the JSON text only between members (a quote inside a string is escaped); the nested objects
    before "field" (policy, clause, exception, waived) and the citations after "fix" have no key "field" or "fix".
    ValueError when the line is no finding of that shape."""
    s = line.index(',"severity":')
    r = line.index(',"rule_id":', s)
    t = line.rindex(',"destination_country":')
    x = line.rindex(',"fix":', r, t)
    f = line.rindex(',"field":', r, x)
    return line[:s], line[s + 1:r], line[r + 1:f], line[f + 1:x], line[x + 1:t], line[t + 1:]


class Reader:
    """Decodes finding lines, each rule's own runs once (see the module's docstring).

    The dicts it gives equal json.loads of the line, key order included; their nested parts (policy, clause,
    exception, waived, also_cites) are shared by the findings of one rule, so callers must not change them."""

    def __init__(self) -> None:
        self._runs: dict[str, dict[str, Any]] = {}

    def _run(self, text: str) -> dict[str, Any]:
        got = self._runs.get(text)
        if got is None:
            got = json.loads("{" + text + "}")  # once per rule: json itself, whatever numbers an exception holds
            if len(self._runs) < _CACHED_RUNS:
                self._runs[text] = got
        return got

    def decode(self, raw: bytes | str) -> dict[str, Any]:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        try:
            head, severity, own, varying, own_end, tail = line_runs(line)
        except ValueError:
            return json.loads(line)
        # orjson reads the head (an id string and a row number) and the tail (a country code or null) exactly, as json
        # does; the varying run's "actual" may be any number of the manifest, so it goes through recordlog.loads.
        try:
            return {**orjson.loads(head + "," + severity + "}"), **self._run(own), **_loads("{" + varying + "}"),
                    **self._run(own_end), **orjson.loads("{" + tail)}
        except orjson.JSONDecodeError:  # e.g. a lone surrogate's escape in the shipment id, which json reads
            return json.loads(line)


def records(findings: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The findings of a report as dicts: from a spool's lines (checker/recordlog.py) through a Reader, or as they are
    from a list."""
    lines = getattr(findings, "lines", None)
    if lines is None:
        yield from findings
        return
    decode = Reader().decode
    for raw in lines():
        yield decode(raw)
