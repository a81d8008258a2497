"""One check run: manifest -> shipments -> findings -> the report model of the DESIGN contract."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from . import __version__, columnar, json_array
from .engine import Engine
from .findings import RANK, Finding, shipment_record, status_of
from .manifest import Normaliser, read_manifest
from .passed_rows import PassedRows
from .recordlog import SPOOL_BYTES, RecordLog, dumps
from .model import PolicySet
from .shipment import EvalEnv


@dataclass
class CheckResult:
    report: dict[str, Any]
    severities: dict[str, int] = field(default_factory=dict)  # active (not waived) findings per severity
    passed: PassedRows = field(default_factory=PassedRows)  # shipments without findings (JUnit lists them)
    processes: int = 1  # not in the report: the same manifest gives the same report on any machine
    cpus: tuple[int, ...] | None = None  # the CPUs the processes were pinned to, one each (checker/halves.py)
    moves: int = 0  # how many times one of the two processes took over part of the other's share

    def close(self) -> None:
        """Release the spools behind the report's findings and shipments (the report cannot be read afterwards)."""
        for key in ("findings", "shipments"):
            close = getattr(self.report.get(key), "close", None)
            if close is not None:
                close()

    def worst(self) -> str | None:
        present = [s for s, n in self.severities.items() if n and s in RANK]
        return max(present, key=lambda s: RANK[s]) if present else None


class ReportBuilder:
    """Collects findings and shipments as JSON lines in row order, with the counts of the summary.

    Both engines feed it: the row-wise loop one shipment at a time, the columnar path one chunk at a time.
    """

    def __init__(self, want_passed: bool, spool_dir: str | None = None, large: bool = False) -> None:
        """`spool_dir`: records go to files there (checker/halves.py); `large`: to temp files from the start."""
        self.findings = RecordLog(os.path.join(spool_dir, "findings") if spool_dir else None, large)
        self.shipments = RecordLog(os.path.join(spool_dir, "shipments") if spool_dir else None, large)
        self.statuses = {"passed": 0, "failed": 0, "warning": 0}
        self.severities = {"error": 0, "warning": 0, "info": 0}
        self.waived = 0
        self.rows = 0
        self.want_passed = want_passed
        self.passed = PassedRows()
        self.processes = 1  # 2 when the columnar path checked the file's second half in a forked process
        self.cpus: tuple[int, ...] | None = None  # then, the CPUs they were pinned to (halves.split_cpus)
        self.moves = 0  # and how many times one took over part of the other's share (halves.Shares)

    def tally(self, ship: Any, found: list[Finding]) -> str:
        """Count one row-wise shipment (row, status, passed list); its status."""
        self.rows += 1
        status = status_of(found)
        self.statuses[status] += 1
        if not found and self.want_passed:
            self.passed.append(ship.shipment_id, ship.row)
        return status

    def add_shipment(self, ship: Any, found: list[Finding], policy: tuple[str, str] | None) -> None:
        """One row from the row-wise engine, written as it comes."""
        status = self.tally(ship, found)
        if not found:
            return
        self.findings.append_lines(dumps(f.to_dict()) for f in found)
        for f in found:
            if f.waived:
                self.waived += 1
            else:
                self.severities[f.severity] += 1
        self.shipments.append(shipment_record(ship.shipment_id, ship.row, status, policy, ship.get("destination_country"), found))

    def close(self) -> None:
        self.findings.close()
        self.shipments.close()


def _columnar(path: str, engine: Engine, norm: Normaliser, out: ReportBuilder,
              progress: Callable[[int], None] | None) -> dict[str, Any] | None:
    """The columnar run of `path` (its dialect, or None when the row-wise reader must read it); a JSON document is
    checked as the JSON Lines file it is rewritten to (checker/json_array.py), and reported as the document it is."""
    if not json_array.applicable(path):
        return columnar.run(path, engine, norm, out, progress)
    with json_array.rewritten(path) as lines:
        if lines is None:
            return None
        dialect = columnar.run(lines.path, engine, norm, out, progress, strict=True)
    return None if dialect is None else {**lines.dialect, "engine": dialect["engine"]}


def check_manifest(path: str, policies: PolicySet, *, family: str | None = None, version: str | None = None,
                   as_of: dt.date | None = None, env: EvalEnv | None = None, data: bytes | None = None,
                   display_path: str | None = None, agreement: Any = None, waivers: Any = None,
                   progress: Callable[[int], None] | None = None, engine_mode: str = "auto",
                   want_passed: bool = True) -> CheckResult:
    shown = display_path or path
    engine = Engine(policies, family=family, version=version, as_of=as_of, env=env, agreement=agreement, waivers=waivers)
    out = None
    dialect: dict[str, Any] = {}
    reader_warnings: list[str] = []
    if engine_mode != "rowwise" and columnar.applicable(path, data, engine, force=engine_mode == "columnar"):
        out = ReportBuilder(want_passed, large=data is None and os.path.getsize(path) > SPOOL_BYTES)
        norm = Normaliser(shown, decimal_comma=True)
        dialect = _columnar(path, engine, norm, out, progress)
        if dialect is None:  # the file needs the row-wise reader after all: start again from nothing
            out.close()
            out = None
            engine = Engine(policies, family=family, version=version, as_of=as_of, env=env, agreement=agreement, waivers=waivers)
    if out is None:
        out = ReportBuilder(want_passed)
        raw = read_manifest(path, data)
        norm = Normaliser(shown, decimal_comma=raw.dialect.decimal != ".")
        dialect, reader_warnings = raw.dialect.to_dict(), raw.warnings
        for row, rec in raw.records:
            if progress is not None and out.rows and out.rows % 20_000 == 0:
                progress(out.rows)
            ship, input_findings = norm.shipment(row, rec)
            ev = engine.evaluate(ship)
            out.add_shipment(ship, input_findings + ev.findings, ev.policy)
    rows = out.rows
    warnings = list(reader_warnings)
    if norm.unknown:
        warnings.append("unknown columns kept and ignored: " + ", ".join(sorted(norm.unknown)))
    if waivers is not None and waivers.expired_used:
        warnings.append("expired waivers not applied: " + ", ".join(sorted(waivers.expired_used)))
    if rows == 0:
        warnings.append("the manifest has no shipment rows")
    report = {
        "tool": {"name": "checker", "version": __version__},
        "generated_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "manifest": {"path": shown, "rows": rows, "dialect": dialect, "warnings": warnings},
        "options": {"as_of": as_of.isoformat() if as_of else None, "policy": f"{family}@{version}" if version else family,
                    "agreement": {"id": agreement.id, "party": agreement.party, "file": agreement.path} if agreement else None,
                    "waivers": waivers.path if waivers else None,
                    "rates": {"base": env.rates.base, "date": env.rates.date, "file": env.rates.source} if env and env.rates.source else None},
        "policies": [{"family": fid, "version": vid, "sha256": v.sha256, "status": v.status,
                      "effective_from": v.effective_from.isoformat() if v.effective_from else None,
                      "title": v.meta.get("title") or policies.families[fid].title}
                     for (fid, vid), v in sorted(engine.used.items())],
        "summary": {
            "shipments": rows, "passed": out.statuses["passed"], "failed": out.statuses["failed"],
            "warned": out.statuses["warning"], "errors": out.severities["error"], "warnings": out.severities["warning"],
            "infos": out.severities["info"], "waived": out.waived,
        },
        "shipments": out.shipments,
        "findings": out.findings,
    }
    return CheckResult(report, dict(out.severities), out.passed, out.processes, out.cpus, out.moves)
