"""Formats that pipelines read: JUnit XML, SARIF 2.1.0 and GitHub workflow annotations.

All three are derived from the same report dict as text/JSON/HTML, so the counts agree, and each is written as it is
made (write_*): a million-row run's findings are read back one at a time (checker/finding_lines.py), never held.
JUnit has one testcase per shipment (passing ones too) in row order, one <failure> per failed shipment
listing each error finding with its clause.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
import tempfile
from typing import IO, Any, Callable, Iterable, Iterator

from checker import __version__
from checker.finding_lines import records
from checker.recordlog import dumps

from .json_layout import PLACEHOLDER, around

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _cite(f: dict[str, Any]) -> str:
    c = f.get("clause")
    if not c:
        return ""
    pol = f.get("policy") or {}
    return f" [{pol.get('family')}@{pol.get('version')} {c['id']}: \"{' '.join(c['quote'].split())}\"]"


# Characters XML 1.0 cannot carry, even escaped (most controls, lone surrogates, U+FFFE/U+FFFF): shown as their escapes,
# as the terminal formats show controls (render.printable), so nothing of a manifest's text is silently dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def _xml_text(text: str) -> str:
    from xml.sax.saxutils import escape  # imported when JUnit is written: it pulls in urllib (~25 ms at start-up)

    return escape(_xml_safe(text))


def _attr(text: str) -> str:
    """A quoted attribute value. Most (shipment ids, rows) need no change, and quoteattr costs ~3 us each: a printable
    text holds no character XML cannot carry (those are controls, surrogates or unassigned), so only &, <, > and "
    are looked for."""
    text = str(text)
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text and '"' not in text:
        return f'"{text}"'
    from xml.sax.saxutils import quoteattr

    return quoteattr(_xml_safe(text))


def _per_shipment(findings: Iterator[dict[str, Any]]) -> Callable[[tuple[str, int]], list[dict[str, Any]]]:
    """`of(key)`: the findings of the shipment `key` (shipment id, row), taken from `findings` as they come.

    Findings and shipments are both in row order, so each shipment's findings are the next ones and nothing is held;
    a finding met out of that order waits in a dict until its shipment comes."""
    waiting: dict[tuple[str, int], list[dict[str, Any]]] = {}
    ahead: list[dict[str, Any]] = []

    def of(key: tuple[str, int]) -> list[dict[str, Any]]:
        if key in waiting:
            return waiting.pop(key)
        mine: list[dict[str, Any]] = []
        while True:
            f = ahead.pop() if ahead else next(findings, None)
            if f is None:
                return mine
            k = (f["shipment_id"], f["row"])
            if k == key:
                mine.append(f)
            elif mine:
                ahead.append(f)  # the next shipment's first finding
                return mine
            else:
                waiting.setdefault(k, []).append(f)

    return of


def write_junit(report: dict[str, Any], passed: Iterable[tuple[str, int]], out: IO[str]) -> None:
    """One testcase per shipment in row order, streamed: a million-row report is never held as dicts or one text."""
    s = report["summary"]
    path = report["manifest"]["path"]
    cls = _attr(path)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
              f'<testsuites name="checker" tests="{s["shipments"]}" failures="{s["failed"]}" errors="0">\n'
              f'  <testsuite name={_attr("manifest " + path)} tests="{s["shipments"]}" failures="{s["failed"]}" errors="0" skipped="0" timestamp={_attr(report["generated_at"])}>\n')
    cases = _testcases(report, passed, cls)
    while batch := list(itertools.islice(cases, 1024)):  # a million testcases are as many small writes otherwise
        out.write("".join(batch))
    out.write("  </testsuite>\n</testsuites>\n")


def _testcases(report: dict[str, Any], passed: Iterable[tuple[str, int]], cls: str) -> Iterator[str]:
    """The testcases in row order: the shipments with findings, and the passing ones (`passed`, in row order too)
    merged in by row."""
    def passing_case(sid: str, row: int) -> str:
        return f"    <testcase classname={cls} name={_attr(f'row {row}: {sid}')}/>\n"

    of = _per_shipment(records(report["findings"]))
    passing = iter(passed)
    nxt = next(passing, None)
    for ship in report["shipments"]:
        sid, row = ship["shipment_id"], ship["row"]
        while nxt is not None and nxt[1] < row:
            yield passing_case(*nxt)
            nxt = next(passing, None)
        fs = of((sid, row))
        case = [f"    <testcase classname={cls} name={_attr(f'row {row}: {sid}')}>\n"]
        errors = [f for f in fs if f["severity"] == "error" and not f.get("waived")]
        if errors:
            first = errors[0]
            msg = f"{len(errors)} error finding(s); first: {first['rule_id']}: {first['message']}{_cite(first)}"
            body = "\n".join(f"{f['rule_id']}: {f['message']}{_cite(f)}" for f in errors)
            case.append(f'      <failure type="policy-violation" message={_attr(msg)}>{_xml_text(body)}</failure>\n')
        others = [f for f in fs if f not in errors]
        if others:
            text = "\n".join(f"{f['severity']}{' (waived)' if f.get('waived') else ''} {f['rule_id']}: {f['message']}{_cite(f)}" for f in others)
            case.append(f"      <system-out>{_xml_text(text)}</system-out>\n")
        case.append("    </testcase>\n")
        yield "".join(case)
    if nxt is not None:
        yield passing_case(*nxt)
    for sid, row in passing:
        yield passing_case(sid, row)


def render_junit(report: dict[str, Any], passed: Iterable[tuple[str, int]] = ()) -> str:
    out = io.StringIO()
    write_junit(report, passed, out)
    return out.getvalue()


def _sarif_rule_id(f: dict[str, Any]) -> str:
    pol = f.get("policy") or {}
    return f"{pol['family']}/{f['rule_id']}" if pol.get("family") else f["rule_id"]


def _sarif_rule(f: dict[str, Any], rid: str, docs_base: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    """A SARIF reportingDescriptor, from the first finding of its rule."""
    c = f.get("clause") or {}
    pol = f.get("policy") or {}
    help_text = meta.get("description", "")
    if c:
        help_text = (f"{help_text}\n\n" if help_text else "") + f"{c.get('document', '')} {c['id']} {c.get('title', '')}: \"{' '.join(c['quote'].split())}\""
    if f.get("fix"):
        help_text += f"\n\nFix: {f['fix']}"
    rule: dict[str, Any] = {
        "id": rid,
        "name": f["rule_id"],
        "shortDescription": {"text": meta.get("title") or f["rule_id"]},
        "help": {"text": help_text or f["message"]},
        "defaultConfiguration": {"level": _LEVEL[f["severity"]]},
        "properties": {"kind": f["kind"], "clause": c.get("id"), "family": pol.get("family"), "version": pol.get("version")},
    }
    if meta.get("description"):
        rule["fullDescription"] = {"text": meta["description"]}
    if docs_base and pol.get("family"):
        rule["helpUri"] = f"{docs_base}/{pol['family']}/{pol['version']}/#{f['rule_id']}"
    return rule


def _sarif_result(f: dict[str, Any], rid: str, uri: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": rid,
        "level": _LEVEL[f["severity"]],
        "message": {"text": f["message"] + _cite(f)},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": f["row"]}},
            "logicalLocations": [{"name": f["shipment_id"], "kind": "object"}],
        }],
        "properties": {"shipment_id": f["shipment_id"], "field": f.get("field"), "actual": f.get("actual"),
                       "expected": f.get("expected"), "layer": f.get("layer")},
    }
    if f.get("waived"):
        w = f["waived"]
        result["suppressions"] = [{"kind": "external", "justification": f"{w['id']}: {w['reason']} (owner {w['owner']}, expires {w['expires']})"}]
    return result


def write_sarif(report: dict[str, Any], out: IO[str], docs_base: str | None = None,
                rule_docs: dict[str, dict[str, Any]] | None = None) -> None:
    """The SARIF log, streamed: the results go to a temporary file as they are made (the rules, which come first in
    the document, are known only once every finding is read), then the document is written around them, indented
    as json.dumps(indent=2) would, with one result a line."""
    rules: dict[str, dict[str, Any]] = {}
    uri = report["manifest"]["path"]
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="backslashreplace") as results:
        sep = "\n"
        for f in records(report["findings"]):
            rid = _sarif_rule_id(f)
            if rid not in rules:
                rules[rid] = _sarif_rule(f, rid, docs_base, (rule_docs or {}).get(rid, {}))
            # One line per result, as the JSON report has one per finding: indenting each (json's pure-Python encoder)
            # cost ~100 us a result against ~10 us for its compact line (2026-11-23).
            results.write(sep + "        " + dumps(_sarif_result(f, rid, uri)))
            sep = ",\n"
        doc = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "checker", "version": __version__, "semanticVersion": __version__, "rules": list(rules.values())}},
                "artifacts": [{"location": {"uri": uri}}],
                "results": PLACEHOLDER,
                "properties": {"summary": report["summary"], "policies": report["policies"]},
            }],
        }
        before, after = around(doc)
        out.write(before)
        if sep == "\n":
            out.write("[]")
        else:
            out.write("[")
            results.seek(0)
            shutil.copyfileobj(results, out, 1 << 18)
            out.write("\n      ]")
        out.write(after + "\n")


def render_sarif(report: dict[str, Any], docs_base: str | None = None, rule_docs: dict[str, dict[str, Any]] | None = None) -> str:
    out = io.StringIO()
    write_sarif(report, out, docs_base, rule_docs)
    return out.getvalue()


_GH_MARKS = re.compile("[%\x00-\x1f\x7f-\x9f]")  # what _gh_data changes: %, CR and LF, and the other controls


def _gh_data(text: str) -> str:
    if _GH_MARKS.search(text) is None:  # most messages: one search instead of three replaces and a translate
        return text
    from .render import printable

    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def write_github(report: dict[str, Any], out: IO[str]) -> None:
    """`::error file=…,line=…,title=…::message` lines, streamed; GitHub shows them on the manifest's lines."""
    path = _gh_prop(report["manifest"]["path"])
    cmd = {"error": "error", "warning": "warning", "info": "notice"}
    for f in records(report["findings"]):
        if f.get("waived"):
            continue
        c = f.get("clause") or {}
        title = f"{f['rule_id']}" + (f" ({c['id']})" if c else "")
        out.write(f"::{cmd[f['severity']]} file={path},line={f['row']},title={_gh_prop(title)}::"
                  f"{_gh_data(f['shipment_id'] + ': ' + f['message'] + _cite(f))}\n")
    s = report["summary"]
    waived = f", {s['waived']} findings waived" if s.get("waived") else ""
    out.write(f"{s['shipments']} shipments: {s['passed']} passed, {s['failed']} failed, {s['warned']} with warnings only{waived}\n")


def render_github(report: dict[str, Any]) -> str:
    out = io.StringIO()
    write_github(report, out)
    return out.getvalue()
