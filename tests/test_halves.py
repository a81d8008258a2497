"""A large CSV checked in two processes (checker/halves.py) gives the report of one process.

The split happens only in a process that has not loaded Polars, so these tests run the command line in a
subprocess, with the size threshold lowered (CHECKER_SPLIT_MIN_BYTES) so a small manifest is split too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import generated
from checker.paths import ROOT

CHECKER = [sys.executable, "-m", "checker.cli"]


def _check(path: Path, out: Path, engine: str, **env: str) -> tuple[dict[str, Any], str]:
    done = subprocess.run([*CHECKER, "check", str(path), "--policy", "inpost-international@2025-11-20", "--engine", engine,
                           "--format", "json", "--output", str(out), "--fail-on", "never", "--quiet", "--verbose"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1", **env})
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text(encoding="utf-8")), done.stderr


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("summary", "policies", "shipments", "findings"):
        assert a[key] == b[key], key
    assert a["manifest"]["rows"] == b["manifest"]["rows"]


def test_two_halves_give_the_report_of_one_process(tmp_path: Path) -> None:
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    split, err = _check(path, tmp_path / "split.json", "columnar")
    assert "in 2 processes" in err and split["manifest"]["dialect"]["engine"] == "columnar"
    one, err_one = _check(path, tmp_path / "one.json", "columnar", CHECKER_PROCESSES="1")
    assert "in 2 processes" not in err_one
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    _same(split, one)
    _same(split, rowwise)
    assert split["summary"]["shipments"] == 800 and split["findings"][-1]["row"] > 700  # the second half is in it


def test_an_id_of_the_first_half_reused_in_the_second_is_a_duplicate(tmp_path: Path) -> None:
    """Only the whole file knows it: the first process checks the second half itself, with the first half's ids."""
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    lines = path.read_text(encoding="utf-8").split("\n")
    first_id = lines[3].split(";")[0]
    lines[700] = ";".join([first_id] + lines[700].split(";")[1:])
    path.write_text("\n".join(lines), encoding="utf-8")
    split, err = _check(path, tmp_path / "split.json", "columnar")
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    assert "in 2 processes" not in err
    _same(split, rowwise)
    assert any(f["rule_id"] == "input-duplicate-id" and f["row"] == 701 for f in split["findings"])


@pytest.mark.parametrize("collide", [False, True], ids=["hashes", "hashes-collide"])
@pytest.mark.parametrize(("theirs", "shared"), [(["S2", "S3"], False), (["S3", "S1"], True), ([], False)])
def test_shares_ids_compares_the_ids_themselves(tmp_path: Path, theirs: list[str], shared: bool, collide: bool) -> None:
    """The hash pre-check may only save time: the answer is the exact comparison's, also when every hash is equal."""
    import mmap

    import polars as pl

    from checker import columnar, halves

    def table(ids: list[str]) -> pl.DataFrame:
        sid = pl.Series("__sid", ids, dtype=pl.String)
        h = pl.repeat(42, len(ids), dtype=pl.UInt64, eager=True) if collide else columnar._id_hash(sid)
        return pl.DataFrame({"__h": h, "__sid": sid, "__first": pl.Series(range(len(ids)), dtype=pl.Int64)})

    table(theirs).write_ipc(tmp_path / "ids.arrow")
    half = halves.Half(0, -1, str(tmp_path), mmap.mmap(-1, 8))
    assert halves.shares_ids(pl, half, table(["S1", "S0"])) is shared


@pytest.mark.parametrize("where", [100, 700], ids=["first-half", "second-half"])
def test_a_line_the_columnar_reader_cannot_take_sends_the_whole_file_row_wise(tmp_path: Path, where: int) -> None:
    """A quoted line break in either half: the row-wise engine reads the whole file, as without the split."""
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    lines = path.read_text(encoding="utf-8").split("\n")
    cells = lines[where].split(";")
    cells[21] = '"Odbiorca\nz nową linią"'  # recipient_name
    lines[where] = ";".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    split, _ = _check(path, tmp_path / "split.json", "columnar")
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    assert split["manifest"]["dialect"].get("engine") != "columnar"
    _same(split, rowwise)


_PROGRESS = """
import json, sys
from checker.loader import load_policies_cached
from checker.paths import policies_dir
from checker.run import check_manifest
seen = []
result = check_manifest(sys.argv[1], load_policies_cached(policies_dir()), family="inpost-international", version="2025-11-20", progress=seen.append,
              engine_mode="columnar")
print(json.dumps({"seen": seen, "processes": result.processes}))
"""


@pytest.mark.parametrize("reuse_id", [False, True], ids=["merged", "second-half-checked-again"])
def test_progress_counts_the_rows_of_both_processes_once(tmp_path: Path, reuse_id: bool) -> None:
    """The display used to stop at the first half's rows; a child whose work is dropped must not be counted twice."""
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    if reuse_id:
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[700] = ";".join([lines[3].split(";")[0]] + lines[700].split(";")[1:])
        path.write_text("\n".join(lines), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _PROGRESS, str(path)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1"})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    seen = got["seen"]
    assert got["processes"] == (1 if reuse_id else 2)
    assert seen and seen[-1] == 800
    assert max(seen) == 800


@pytest.mark.parametrize(("allowed", "pinned"), [([0, 1], (0, 1)), ([2, 5], (2, 5)), ([0], None), ([0, 1, 2, 3], None)])
def test_the_halves_are_pinned_one_per_cpu_only_where_two_cpus_are_allowed(allowed: list[int],
                                                                            pinned: tuple[int, int] | None) -> None:
    from checker import halves

    assert halves.split_cpus(allowed) == pinned


_AFFINITY = """
import json, os, sys
from checker.loader import load_policies_cached
from checker.paths import policies_dir
from checker.run import check_manifest
os.sched_setaffinity(0, set(json.loads(sys.argv[2])))
result = check_manifest(sys.argv[1], load_policies_cached(policies_dir()), family="inpost-international", version="2025-11-20",
                        engine_mode="columnar")
def affinity(tid):
    try:
        return tuple(sorted(os.sched_getaffinity(int(tid))))
    except ProcessLookupError:  # a thread that ended meanwhile (the one that reaps the child)
        return None
threads = sorted({a for t in os.listdir("/proc/self/task") if (a := affinity(t)) is not None})
print(json.dumps({"processes": result.processes, "cpus": result.cpus, "after": threads,
                  "shipments": result.report["summary"]["shipments"]}))
"""


@pytest.mark.parametrize("allowed", [1, 2], ids=["one-cpu", "two-cpus"])
def test_two_allowed_cpus_get_one_process_each_and_the_first_gets_both_back(tmp_path: Path, allowed: int) -> None:
    """With one CPU allowed there is no second process; with two, each half runs on its own, and once the second half
    is merged this process may use both again, in every thread (the rest of the run, and of a library caller's
    program, whose Polars threads were started while it was pinned)."""
    cpus = sorted(os.sched_getaffinity(0))[:allowed]
    assert len(cpus) == allowed  # the split needs two CPUs: the tests above already assume them
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    done = subprocess.run([sys.executable, "-c", _AFFINITY, str(path), json.dumps(cpus)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1"})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["shipments"] == 800 and got["after"] == [cpus]  # every thread, Polars' too
    assert (got["processes"], got["cpus"]) == ((2, cpus) if allowed == 2 else (1, None))


_DYING_CHILD = """
import json, os, sys
from checker import halves
from checker.loader import load_policies_cached
from checker.paths import policies_dir
from checker.run import check_manifest
if sys.argv[2] == "dies":
    halves._check = lambda *args, **kwargs: os._exit(3)  # the forked child ends without a result
result = check_manifest(sys.argv[1], load_policies_cached(policies_dir()), family="inpost-international", version="2025-11-20",
                        engine_mode="columnar")
print(json.dumps({"processes": result.processes, "summary": result.report["summary"],
                  "findings": [json.loads(line) for line in result.report["findings"].lines()]}))
"""


def test_a_child_that_dies_without_a_result_is_replaced_by_this_process(tmp_path: Path) -> None:
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    got = {}
    for case in ("dies", "lives"):
        done = subprocess.run([sys.executable, "-c", _DYING_CHILD, str(path), case], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1"})
        assert done.returncode == 0, done.stderr
        got[case] = json.loads(done.stdout)
    assert (got["dies"]["processes"], got["lives"]["processes"]) == (1, 2)
    assert got["dies"]["summary"] == got["lives"]["summary"] and got["dies"]["summary"]["shipments"] == 800
    assert got["dies"]["findings"] == got["lives"]["findings"]
