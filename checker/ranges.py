"""The ranges two processes checked, put together into one report in the file's order.

Each range knew only its own shipment ids. A row whose id an earlier range used first is checked again by the
row-wise engine and its records replace the range's (settle_ids): 2026-11-22, 200 such rows in the 1 M-row file,
3.8-4.5 s, where checking the rest of the file again in one process took 6.7-7.7 s. With more than PATCH_MAX_ROWS such rows,
or a child that died, the caller does that instead (columnar.run).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import recordlog
from .shares import Segment

# Rows whose shipment id an earlier range used first are checked again by the row-wise engine (columnar._Run.reevaluate)
# and their records put in place of the range's; with more than this, checking the rest of the file again in one
# process costs less (2026-11-22, 1 M rows with 200 ids reused far apart: 0.38 s to find and check the 200 rows again,
# ~0.45 ms a row of it the row-wise engine; checking the rest again in one process added 2.8-3.2 s).
PATCH_MAX_ROWS = 2000


@dataclass
class _Range:
    """A checked range, this process's or the child's, as merge takes it."""

    start: int
    folder: str | None  # None: the report's own records (the first range)
    tally: dict[str, Any]  # counts(): its record counts, summary counts and passed rows
    seen: Any
    repeats: Any
    chunks: list[tuple[int, int, int]]
    patches: list[tuple[int, list[str], list[str], str, str | None]] = field(default_factory=list)  # settle_ids


def ranges(pl: Any, mine: list[Segment], result: dict[str, Any]) -> list[_Range]:
    """Every range of both processes, in the file's order."""
    out = [_Range(s.start, s.folder, counts(s.out) if s.folder else {}, s.seen, s.repeats, s.chunks) for s in mine]
    for r in result["segments"]:
        out.append(_Range(r["start"], r["folder"], r, pl.read_ipc(os.path.join(r["folder"], "ids.arrow")),
                          pl.read_ipc(os.path.join(r["folder"], "repeats.arrow")), r["chunks"]))
    return sorted(out, key=lambda r: r.start)


def settle_ids(pl: Any, state: Any, fh: Any, todo: list[_Range]) -> bool:
    """Each range knew only its own shipment ids. Find the rows of later ranges whose id an earlier range used first
    (the first such row of a range has no duplicate finding yet, the others name the wrong first row) and check them
    again as the one process would have (their new records go to each range's `patches`); False when there are more
    than PATCH_MAX_ROWS, and nothing is patched."""
    known = todo[0].seen
    found: list[tuple[_Range, Any]] = []
    total = 0
    for r in todo[1:]:
        if shares_ids(pl, r.seen, known):
            earlier = known.select("__sid", pl.col("__first").alias("__e"))
            shared = r.seen.select("__sid", "__first").join(earlier, on="__sid", how="inner")
            rows = pl.concat([shared.select(pl.col("__first").alias("__row"), "__sid", "__e"),
                              r.repeats.join(shared.select("__sid", "__e"), on="__sid", how="inner").select("__row", "__sid", "__e")]
                             ).sort("__row")
            total += rows.height
            if total > PATCH_MAX_ROWS:
                return False
            found.append((r, rows))
            r_new = r.seen.join(shared.select("__sid"), on="__sid", how="anti")
        else:
            r_new = r.seen
        known = pl.concat([known, r_new], rechunk=False)
    for r, rows in found:
        lines = _manifest_lines(fh, r.chunks, rows["__row"].to_list())
        items = [(lines[row], row, sid, first) for row, sid, first in rows.iter_rows()]
        r.patches = [(item[1], *got) for item, got in zip(items, state.reevaluate(items))]
    return True


def _manifest_lines(fh: Any, chunks: list[tuple[int, int, int]], rows: list[int]) -> dict[int, bytes]:
    """The manifest lines of `rows` (sorted), each with its line end, read once per chunk that holds some."""
    wanted: dict[int, list[int]] = {}
    k = 0
    for row in rows:
        while k + 1 < len(chunks) and chunks[k + 1][1] <= row:
            k += 1
        wanted.setdefault(k, []).append(row)
    got: dict[int, bytes] = {}
    for k, its in wanted.items():
        at, line, size = chunks[k]
        fh.seek(at)
        block = fh.read(size)
        pos = 0
        for row in its:  # from line to line by find: splitting a 32 MB block into its lines cost ~50 ms
            for _ in range(row - line):
                pos = block.index(b"\n", pos) + 1
            end = block.find(b"\n", pos)
            got[row] = block[pos:] + b"\n" if end < 0 else block[pos:end + 1]
            line = row
    return got


def counts(out: Any) -> dict[str, Any]:
    """What merge needs of a range's ReportBuilder besides its files."""
    return {"findings": out.findings.flush(), "shipments": out.shipments.flush(), "rows": out.rows,
            "statuses": dict(out.statuses), "severities": dict(out.severities), "passed": out.passed}


def merge(todo: list[_Range], mine: list[Segment], result: dict[str, Any], out: Any, engine: Any, norm: Any) -> None:
    """Add the later ranges' findings, shipments and counts to the first range's (`out`), in the file's order, with
    the records of the rows settle_ids checked again in place of theirs. Ranges of this process were counted into
    `norm` already, the child's come with `result`."""
    for r in todo[1:]:
        c = r.tally
        findings, shipments = os.path.join(r.folder, "findings"), os.path.join(r.folder, "shipments")
        statuses, severities, n_findings, n_shipments = dict(c["statuses"]), dict(c["severities"]), c["findings"], c["shipments"]
        again: set[int] = set()
        if r.patches:
            f_patches, s_patches = [], []
            for row, lines, sevs, status, ship_line in r.patches:
                start, end, old = recordlog.row_span(findings, row)
                f_patches.append((start, end, recordlog.records(lines)))
                n_findings += len(lines) - len(old)
                for line in old:
                    severities[json.loads(line)["severity"]] -= 1
                for sev in sevs:
                    severities[sev] += 1
                start, end, old = recordlog.row_span(shipments, row)
                s_patches.append((start, end, recordlog.records([ship_line] if ship_line else [])))
                n_shipments += (1 if ship_line else 0) - len(old)
                statuses[json.loads(old[0])["status"] if old else "passed"] -= 1
                statuses[status] += 1
            recordlog.patched(findings, f_patches, findings + ".patched")
            recordlog.patched(shipments, s_patches, shipments + ".patched")
            findings, shipments = findings + ".patched", shipments + ".patched"
            again = {p[0] for p in r.patches}
        out.findings.extend_from(findings, n_findings)
        out.shipments.extend_from(shipments, n_shipments)
        out.rows += c["rows"]
        for key, n in statuses.items():
            out.statuses[key] += n
        for key, n in severities.items():
            out.severities[key] += n
        out.passed.add(c["passed"], again)
    for s in mine[1:]:
        s.out.close()  # its files stay until the report is written: extend_from opened them
    for name, n in result["unknown"].items():
        norm.unknown[name] = norm.unknown.get(name, 0) + n
    for fid, vid in result["used"]:
        engine.used[(fid, vid)] = engine.policies.family(fid).version(vid)


def shares_ids(pl: Any, theirs: Any, seen: Any) -> bool:
    """Whether an id of table `theirs` is in table `seen` (both columnar._Run.seen tables).

    Ids are compared by their 64-bit hash first (both tables keep it), and by text only when a hash is shared: this
    runs after both processes, while nothing else does, and the texts cost 110 ms (500 k ids a side)."""
    if not (theirs.height and seen.height):
        return False
    if not theirs["__h"].is_in(seen["__h"].implode()).any():
        return False
    return bool(theirs["__sid"].is_in(seen["__sid"].implode()).any())
