"""One check run: manifest -> shipments -> findings -> the report model of the DESIGN contract."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from . import __version__, fastpath
from .engine import Engine
from .findings import RANK, Finding
from .manifest import Normaliser, read_manifest
from .model import PolicySet
from .shipment import EvalEnv


@dataclass
class CheckResult:
    report: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    passed: list[tuple[str, int]] = field(default_factory=list)  # shipments without findings (JUnit lists them)

    def worst(self) -> str | None:
        sev = [f.severity for f in self.findings if not f.waived]
        return max(sev, key=lambda s: RANK[s]) if sev else None


def status_of(findings: list[Finding]) -> str:
    active = [f for f in findings if not f.waived]
    if any(f.severity == "error" for f in active):
        return "failed"
    if any(f.severity == "warning" for f in active):
        return "warning"
    return "passed"


def check_manifest(path: str, policies: PolicySet, *, family: str | None = None, version: str | None = None,
                   as_of: dt.date | None = None, env: EvalEnv | None = None, data: bytes | None = None,
                   display_path: str | None = None, agreement: Any = None, waivers: Any = None,
                   progress: Callable[[int], None] | None = None, engine_mode: str = "auto",
                   want_passed: bool = True) -> CheckResult:
    shown = display_path or path
    engine = Engine(policies, family=family, version=version, as_of=as_of, env=env, agreement=agreement, waivers=waivers)
    fast = None
    if engine_mode != "rowwise" and fastpath.applicable(path, data, force=engine_mode == "columnar"):
        norm = Normaliser(shown, decimal_comma=True)
        fast = fastpath.check_fast(path, engine, norm)
    reader_warnings: list[str] = []
    if fast is not None:
        total, records, dialect, passed_rest = fast
        norm.decimal_comma = dialect["decimal"] != "."
    else:
        raw = read_manifest(path, data)
        norm = Normaliser(shown, decimal_comma=raw.dialect.decimal != ".")
        records, dialect, passed_rest = raw.records, raw.dialect.to_dict(), None
        reader_warnings = raw.warnings
    findings: list[Finding] = []
    shipments: list[dict[str, Any]] = []
    counts = {"passed": 0, "failed": 0, "warning": 0}
    rows = 0
    passed: list[tuple[str, int]] = []
    for row, rec in records:
        rows += 1
        if progress is not None and rows % 20_000 == 0:
            progress(rows)
        ship, input_findings = norm.shipment(row, rec)
        ev = engine.evaluate(ship)
        found = input_findings + ev.findings
        status = status_of(found)
        counts[status] += 1
        if found:
            findings.extend(found)
            shipments.append({"shipment_id": ship.shipment_id, "row": row, "status": status,
                              "policy": {"family": ev.policy[0], "version": ev.policy[1]} if ev.policy else None,
                              "destination_country": ship.get("destination_country"),
                              "errors": sum(1 for f in found if f.severity == "error" and not f.waived),
                              "warnings": sum(1 for f in found if f.severity == "warning" and not f.waived)})
        else:
            passed.append((ship.shipment_id, row))
    if fast is not None:
        # Rows the columnar selection proved clean never reached the loop: they passed.
        counts["passed"] += total - rows
        rows = total
        passed = sorted(passed + passed_rest(), key=lambda x: x[1]) if want_passed else passed
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
            "shipments": rows, "passed": counts["passed"], "failed": counts["failed"], "warned": counts["warning"],
            "errors": sum(1 for f in findings if f.severity == "error" and not f.waived),
            "warnings": sum(1 for f in findings if f.severity == "warning" and not f.waived),
            "infos": sum(1 for f in findings if f.severity == "info" and not f.waived),
            "waived": sum(1 for f in findings if f.waived),
        },
        "shipments": shipments,
        "findings": [f.to_dict() for f in findings],
    }
    return CheckResult(report, findings, passed)
