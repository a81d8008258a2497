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
from xml.etree import ElementTree

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


def _reuse(path: Path, pairs: list[tuple[int, int]]) -> None:
    """Give line `later` (1-based, the header is line 1) the shipment id of line `first`, for each pair."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for first, later in pairs:
        lines[later - 1] = ";".join([lines[first - 1].split(";")[0]] + lines[later - 1].split(";")[1:])
    path.write_text("\n".join(lines), encoding="utf-8")


def test_ids_of_the_first_half_reused_in_the_second_are_duplicates(tmp_path: Path) -> None:
    """Only the whole file knows it. The rows of the second half whose id the first half used are checked again,
    and their records replace the child's: a row the child found clean (a shipment record appears), a row with
    findings of its own (the duplicate goes before them), and a repeat inside the second half (its finding named the
    second half's first use, now the first half's row). The two processes stay two."""
    path = _unique_ids(generated.manifest(tmp_path, 800, seed=5, violation_share=0.3))
    before, _ = _check(path, tmp_path / "before.json", "rowwise")
    flagged = {f["row"] for f in before["findings"]}
    clean = next(r for r in range(650, 790) if r not in flagged)
    busy = next(r for r in range(650, 790) if r not in (clean, clean + 1) and
                sum(f["row"] == r and f["kind"] != "input" for f in before["findings"]) >= 2)
    _reuse(path, [(4, clean), (4, busy), (30, busy + 1 if busy + 1 != clean else busy + 2)])
    split, err = _check(path, tmp_path / "split.json", "columnar")
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    assert "in 2 processes" in err
    _same(split, rowwise)
    dup = {f["row"]: f["message"] for f in split["findings"] if f["rule_id"] == "input-duplicate-id"}
    assert dup[clean].endswith("was already used on row 4") and dup[max(clean, busy)].endswith("row 4")
    assert any(s["row"] == clean and s["status"] == "failed" for s in split["shipments"])
    mine = [f for f in split["findings"] if f["row"] == busy]
    assert mine[0]["rule_id"] == "input-duplicate-id" and len(mine) >= 3


def _two_copies(tmp_path: Path) -> Path:
    """A file that is two copies of one batch's ids: each of the last 2,200 rows repeats the id of one of the first
    2,200, more rows than ranges.PATCH_MAX_ROWS."""
    from checker.ranges import PATCH_MAX_ROWS

    path = _unique_ids(generated.manifest(tmp_path, 4400, seed=5, violation_share=0.3))
    _reuse(path, [(k, 2200 + k) for k in range(2, 2202)])
    assert 2200 > PATCH_MAX_ROWS
    return path


def test_many_ids_reused_across_the_halves_check_the_second_half_again(tmp_path: Path) -> None:
    """Every id of the second half repeats one of the first: too many rows to check again one by one, so the first
    process checks the second half itself, with the first half's ids."""
    path = _two_copies(tmp_path)
    split, err = _check(path, tmp_path / "split.json", "columnar")
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    assert "in 2 processes" not in err
    _same(split, rowwise)
    assert sum(f["rule_id"] == "input-duplicate-id" for f in split["findings"]) == 2200


@pytest.mark.parametrize("collide", [False, True], ids=["hashes", "hashes-collide"])
@pytest.mark.parametrize(("theirs", "shared"), [(["S2", "S3"], False), (["S3", "S1"], True), ([], False)])
def test_shares_ids_compares_the_ids_themselves(tmp_path: Path, theirs: list[str], shared: bool, collide: bool) -> None:
    """The hash pre-check may only save time: the answer is the exact comparison's, also when every hash is equal."""
    import polars as pl

    from checker import columnar, ranges

    def table(ids: list[str]) -> pl.DataFrame:
        sid = pl.Series("__sid", ids, dtype=pl.String)
        h = pl.repeat(42, len(ids), dtype=pl.UInt64, eager=True) if collide else columnar._id_hash(sid)
        return pl.DataFrame({"__h": h, "__sid": sid, "__first": pl.Series(range(len(ids)), dtype=pl.Int64)})

    assert ranges.shares_ids(pl, table(theirs), table(["S1", "S0"])) is shared


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



def _testcases(path: Path, out: Path, engine: str, **env: str) -> list[bytes]:
    """The JUnit report's testcases, each as its XML text."""
    done = subprocess.run([*CHECKER, "check", str(path), "--policy", "inpost-international@2025-11-20", "--engine", engine,
                           "--format", "junit", "--output", str(out), "--fail-on", "never", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1", **env})
    assert done.returncode == 0, done.stderr
    return [ElementTree.tostring(case) for case in ElementTree.parse(out).getroot().iter("testcase")]


def test_junit_lists_every_shipment_of_both_processes_once_in_row_order(tmp_path: Path) -> None:
    """The passing shipments are kept per chunk (checker/passed_rows.py) and merged across the processes' ranges:
    with small chunks, rows a chunk sends to the row-wise engine (a dispatch time with seconds and a zone), and ids
    reused across the halves (rows checked again), the testcases are the row-wise run's, one per row."""
    path = _unique_ids(generated.manifest(tmp_path, 800, seed=5, violation_share=0.3))
    lines = path.read_text(encoding="utf-8").split("\n")
    for row in range(10, 800, 37):
        cells = lines[row].split(";")
        cells[2] += ":00Z"  # dispatch_at
        lines[row] = ";".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    _reuse(path, [(4, 700), (5, 731)])
    split = _testcases(path, tmp_path / "split.xml", "columnar", CHECKER_CHUNK_BYTES="20000")
    rowwise = _testcases(path, tmp_path / "rowwise.xml", "rowwise")
    assert split == rowwise
    assert len(split) == 800 and sum(b"<failure" not in case for case in split) > 300


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
    path = _two_copies(tmp_path) if reuse_id else generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    done = subprocess.run([sys.executable, "-c", _PROGRESS, str(path)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1"})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    seen = got["seen"]
    assert got["processes"] == (1 if reuse_id else 2)
    rows = 4400 if reuse_id else 800
    assert seen and seen[-1] == rows
    assert max(seen) == rows


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
from checker import columnar, halves
from checker.loader import load_policies_cached
from checker.paths import policies_dir
from checker.run import check_manifest
PARENT, calls = os.getpid(), []
if sys.argv[2] == "dies":
    halves._check = lambda *args, **kwargs: os._exit(3)  # the forked child ends without a result
chunk = columnar._Run.chunk
def counted(self, *args, **kwargs):
    calls.append(1)
    if sys.argv[2] == "dies-midway" and os.getpid() != PARENT and len(calls) == 3:
        os._exit(3)  # the child, on its third chunk
    return chunk(self, *args, **kwargs)
columnar._Run.chunk = counted
result = check_manifest(sys.argv[1], load_policies_cached(policies_dir()), family="inpost-international", version="2025-11-20",
                        engine_mode="columnar")
print(json.dumps({"processes": result.processes, "summary": result.report["summary"], "chunks": len(calls),
                  "findings": [json.loads(line) for line in result.report["findings"].lines()]}))
"""


@pytest.mark.parametrize("case", ["dies", "dies-midway"])
def test_a_child_that_dies_without_a_result_is_replaced_by_this_process(tmp_path: Path, case: str) -> None:
    """The first process checks the rest itself. A child that died midway leaves most of its share unclaimed: the first
    process must not take it over (only to check it again after the child's death is known)."""
    path = generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)
    got = {}
    for run in (case, "lives"):
        done = subprocess.run([sys.executable, "-c", _DYING_CHILD, str(path), run], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1", "CHECKER_CHUNK_BYTES": "8192",
                                             "CHECKER_STEAL_MIN_BYTES": "2"})
        assert done.returncode == 0, done.stderr
        got[run] = json.loads(done.stdout)
    assert (got[case]["processes"], got["lives"]["processes"]) == (1, 2)
    assert got[case]["summary"] == got["lives"]["summary"] and got[case]["summary"]["shipments"] == 800
    assert got[case]["findings"] == got["lives"]["findings"]
    chunks_in_file = path.stat().st_size // 8192 + 1
    assert got[case]["chunks"] <= chunks_in_file + 2  # its own share, then the rest once


def _unique_ids(path: Path) -> Path:
    """The generator repeats a few ids on neighbouring rows; where a range is taken over depends on timing, and an id
    in two ranges makes the first process check the rest again (the test below), so these tests start without."""
    lines = path.read_text(encoding="utf-8").split("\n")
    seen: set[str] = set()
    for k in range(1, len(lines)):
        sid = lines[k].split(";")[0]
        if sid and sid in seen:
            lines[k] = ";".join([f"{sid}-{k}"] + lines[k].split(";")[1:])
        seen.add(sid)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("share", ["0.05", "0.95"], ids=["first-takes-over", "second-takes-over"])
def test_a_process_that_runs_out_takes_over_part_of_the_others_share(tmp_path: Path, share: str) -> None:
    """One process's share made 5 % of the file: it takes over ranges of the other's (the first process ranges after
    the second's own, the second ranges before it), and the report is still the one process's, row for row."""
    path = _unique_ids(generated.manifest(tmp_path, 800, seed=5, violation_share=0.3))
    small = {"CHECKER_CHUNK_BYTES": "8192", "CHECKER_STEAL_MIN_BYTES": "2"}
    split, err = _check(path, tmp_path / "split.json", "columnar", CHECKER_SPLIT_SHARE=share, **small)
    assert "in 2 processes (one took over part of the other's share" in err, err
    one, _ = _check(path, tmp_path / "one.json", "columnar", CHECKER_PROCESSES="1", **small)
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    _same(split, one)
    _same(split, rowwise)


@pytest.mark.parametrize(("share", "first", "again"), [("0.05", 300, 700), ("0.95", 500, 790)],
                         ids=["taken-after-own", "taken-before-own"])
def test_an_id_used_in_two_ranges_is_a_duplicate_after_a_take_over(tmp_path: Path, share: str, first: int,
                                                                   again: int) -> None:
    """Each range knows only its own ids; the later row of an id used in two ranges is checked again, so it is the
    duplicate, as in one process, also where the child checked the later range before the earlier."""
    path = _unique_ids(generated.manifest(tmp_path, 800, seed=5, violation_share=0.3))
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[again - 1] = ";".join([lines[first - 1].split(";")[0]] + lines[again - 1].split(";")[1:])
    path.write_text("\n".join(lines), encoding="utf-8")
    small = {"CHECKER_CHUNK_BYTES": "8192", "CHECKER_STEAL_MIN_BYTES": "2", "CHECKER_SPLIT_SHARE": share}
    split, err = _check(path, tmp_path / "split.json", "columnar", **small)
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    assert "in 2 processes (one took over" in err
    _same(split, rowwise)
    assert [f["row"] for f in split["findings"] if f["rule_id"] == "input-duplicate-id"] == [again]


def _lines_file(tmp_path: Path, n: int = 400) -> tuple[Path, bytes]:
    body = b"".join(b"row %d %s\n" % (k, b"x" * (k % 37)) for k in range(n))
    path = tmp_path / "m.csv"
    path.write_bytes(b"header\n" + body)
    return path, body


def test_shares_hand_out_every_line_once_with_its_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two processes' claims and take-overs, played in one process: whatever the order, every line is checked
    once, in pieces of whole lines, each numbered as in the file."""
    from checker.shares import Shares, count_lines

    monkeypatch.setenv("CHECKER_STEAL_MIN_BYTES", "2")
    path, body = _lines_file(tmp_path)
    start, size = len(b"header\n"), len(b"header\n") + len(body)
    cut = start + len(body) // 5
    shares = Shares(str(tmp_path), (start, cut, 2), (cut, size, -1), chunk_bytes=300)
    with open(path, "rb") as fh:
        shares.publish_line(1, 2 + count_lines(fh, start, cut))
        got: list[tuple[int, int, bytes]] = []  # (offset, first line number, the piece's lines)
        line = {0: 2, 1: shares._get(1)[3]}
        turn, done, moves = 0, set(), 0
        while len(done) < 2:
            me = 0 if turn % 3 else 1  # the first process runs twice as fast
            turn += 1
            if me in done:
                continue
            piece = shares.claim(me, fh, line[me])
            if piece is None:
                taken = shares.take_over(me, fh)
                if taken is None:
                    done.add(me)
                else:
                    line[me] = taken[1]
                    moves += 1
                continue
            block, n, at = piece
            assert block[:n].endswith(b"\n") and (n == len(block) or b"\n" not in block[n:])
            got.append((at, line[me], block[:n]))
            line[me] += block[:n].count(b"\n")
    shares.close()
    assert moves >= 2, moves  # the first process ran out first (a fifth of the file) and came back for more
    got.sort()
    assert b"".join(p for _, _, p in got) == body
    for at, first, piece in got:
        assert first == 2 + body[:at - start].count(b"\n")
        assert piece.startswith(b"row %d " % (first - 2))


def test_a_take_over_while_the_owner_reads_cuts_its_block_at_the_new_end(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner reads its next block unlocked; a take-over in the meantime moves its end back, and the claim keeps
    only the bytes before it, which are whole lines."""
    from checker.shares import Shares

    monkeypatch.setenv("CHECKER_STEAL_MIN_BYTES", "2")
    path, body = _lines_file(tmp_path)
    start, size = len(b"header\n"), len(b"header\n") + len(body)
    shares = Shares(str(tmp_path), (start, size, 2), (size, size, -1), chunk_bytes=1 << 20)
    with open(path, "rb") as owner, open(path, "rb") as other:
        real_read = owner.read

        def read_and_be_robbed(n: int = -1) -> bytes:
            taken.append(shares.take_over(1, other))
            return real_read(n)

        taken: list[Any] = []
        owner.read = read_and_be_robbed  # type: ignore[method-assign]
        block, n, at = shares.claim(0, owner, 2)
        taken_start, taken_line = taken[0]
    shares.close()
    assert at == start and start < taken_start < size
    assert block[:n] == body[:taken_start - start] and len(block) == n
    assert taken_line == 2 + block.count(b"\n")
    assert body[taken_start - start:].startswith(b"row %d " % (taken_line - 2))


def test_too_little_left_is_not_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.shares import Shares

    monkeypatch.setenv("CHECKER_STEAL_MIN_BYTES", "1000")
    path, body = _lines_file(tmp_path)
    start, size = len(b"header\n"), len(b"header\n") + len(body)
    shares = Shares(str(tmp_path), (start, size - 999, 2), (size - 999, size, 300), chunk_bytes=1 << 20)
    with open(path, "rb") as fh:
        assert shares.take_over(0, fh) is None  # 999 bytes left of the other's share
        assert shares.take_over(1, fh) is not None  # the first's is long
    shares.close()


@pytest.mark.parametrize("block", [1, 7, 8 << 20])
def test_count_lines_counts_the_line_ends_of_a_range_in_any_block_size(tmp_path: Path, block: int,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from checker import shares

    path, body = _lines_file(tmp_path)
    start = len(b"header\n")
    real = bytearray
    # The buffer is at most 8 MB; a smaller one (1 or 7 bytes) makes every line end fall across block edges.
    monkeypatch.setattr(shares, "bytearray", lambda n: real(min(n, block)), raising=False)
    with open(path, "rb") as fh:
        for end in (start, start + 1, start + len(body) // 3, start + len(body)):
            assert shares.count_lines(fh, start, end) == body[:end - start].count(b"\n")


_HELPER = """
import os, sys
from checker import disposal, halves
path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert "polars" not in sys.modules  # as in the command line, which starts the helper before Polars is imported
fd = halves._count_aside(path, start, end)
assert fd is not None and disposal._sock is not None
print(halves._counted(fd))
disposal._sock.settimeout(10)
disposal._sock.send(b"x")  # the helper still serves after counting
disposal.finish()
"""


def test_the_line_count_comes_from_the_helper_process_or_from_the_child_itself(tmp_path: Path) -> None:
    """The helper forked before Polars is imported (halves._count_aside) sends the count the child would have made;
    a helper that ends without an answer leaves the child to count itself."""
    from checker import halves

    path, body = _lines_file(tmp_path)
    start = len(b"header\n")
    end = start + len(body) // 2
    done = subprocess.run([sys.executable, "-c", _HELPER, str(path), str(start), str(end)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == body[:end - start].count(b"\n")
    r, w = os.pipe()
    os.close(w)  # a helper that died before it wrote
    assert halves._counted(r) is None
    assert halves._counted(-1) is None


def test_a_piece_taken_over_is_sized_so_both_processes_end_together() -> None:
    """shares.split: the half of what is left while the taker has no speed of its own yet; with one, what the other
    still has of the chunk it is checking counts too, and the taker's own cost of taking over is paid from its piece."""
    from checker.shares import TAKE_COST_S, split

    mb, rate = 1 << 20, 60 << 20  # bytes a second
    assert split(20 * mb, 32 * mb, 0.1, None, 8 * mb, 2 * mb) == 10 * mb  # no speed yet: half
    assert split(6 * mb, 32 * mb, 0.1, None, 8 * mb, 2 * mb) == 0  # ... and not below the old minimum
    # The other has just claimed a whole chunk (~0.5 s at this speed) and 6 MB besides: all but a line of the 6 MB.
    assert split(6 * mb, 32 * mb, 0.01, rate, 8 * mb, 2 * mb) == 6 * mb - 1
    # Its chunk is done (claimed long ago): each ends with half of the rest, less the taker's cost of taking over.
    assert split(20 * mb, 32 * mb, 5.0, rate, 8 * mb, 2 * mb) == int((20 * mb - TAKE_COST_S * rate) / 2)
    # Half-way through its chunk: that half counts on its side.
    half_way = split(20 * mb, 32 * mb, 16 * mb / rate, rate, 8 * mb, 2 * mb)
    assert abs(half_way - int((16 * mb + 20 * mb - TAKE_COST_S * rate) / 2)) <= 1
    assert split(3 * mb, 0, 0.0, rate, 8 * mb, 2 * mb) == 0  # too little to be worth taking


def _as_json_lines(path: Path) -> Path:
    """The CSV manifest at `path` as JSON Lines: numbers as JSON numbers, empty cells left out, a blank line now and
    then (it counts for the row numbers)."""
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    lines = []
    for i, row in enumerate(rows):
        rec: dict[str, Any] = {}
        for key, cell in row.items():
            if not cell:
                continue
            try:
                rec[key] = float(cell.replace(",", ".")) if key.endswith(("_mm", "_kg", "_value")) else cell
            except ValueError:
                rec[key] = cell
        lines.append(json.dumps(rec, ensure_ascii=False))
        if i % 97 == 5:
            lines.append("")
    out = path.with_suffix(".jsonl")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("share", ["", "0.05"], ids=["halves", "first-takes-over"])
def test_json_lines_in_two_processes_give_the_report_of_one(tmp_path: Path, share: str) -> None:
    """A JSON Lines manifest (no header line: its rows are numbered from line 1) split, and taken over, as a CSV is;
    an id of the first half reused in the second is still a duplicate."""
    path = _as_json_lines(_unique_ids(generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)))
    lines = path.read_text(encoding="utf-8").split("\n")
    first, again = json.loads(lines[3]), json.loads(lines[700])
    lines[700] = json.dumps({**again, "shipment_id": first["shipment_id"]}, ensure_ascii=False)
    path.write_text("\n".join(lines), encoding="utf-8")
    small = {"CHECKER_CHUNK_BYTES": "8192", "CHECKER_STEAL_MIN_BYTES": "2"} | ({"CHECKER_SPLIT_SHARE": share} if share else {})
    split, err = _check(path, tmp_path / "split.json", "columnar", **small)
    assert "in 2 processes" in err and split["manifest"]["dialect"] == {"format": "jsonl", "encoding": "utf-8", "engine": "columnar"}
    assert "one took over part of the other's share" in err or not share, err
    one, _ = _check(path, tmp_path / "one.json", "columnar", CHECKER_PROCESSES="1", **small)
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    _same(split, one)
    _same(split, rowwise)
    assert [f["row"] for f in split["findings"] if f["rule_id"] == "input-duplicate-id"] == [701]
    assert split["summary"]["shipments"] == 800 and split["findings"][-1]["row"] > 800


@pytest.mark.parametrize("cut_in_a_string", [False, True], ids=["clean", "cut-in-the-second-half"])
def test_a_json_document_in_two_processes_gives_the_report_of_the_whole_document_reader(tmp_path: Path,
                                                                                       cut_in_a_string: bool) -> None:
    """A JSON array (checker/json_array.py) is split as its JSON Lines rewrite is; its rows are its records' places.
    A record holding the glue between records in a string, late in the file, makes the second process give up, and
    the whole-document reader reads the file for the report."""
    jsonl = _as_json_lines(_unique_ids(generated.manifest(tmp_path, 800, seed=5, violation_share=0.3)))
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").split("\n") if line.strip()]
    records[700]["shipment_id"] = records[3]["shipment_id"]
    if cut_in_a_string:
        records[650]["contents"] = "Klocki}, {zestaw"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    small = {"CHECKER_CHUNK_BYTES": "8192", "CHECKER_STEAL_MIN_BYTES": "2"}
    split, err = _check(path, tmp_path / "split.json", "columnar", **small)
    rowwise, _ = _check(path, tmp_path / "rowwise.json", "rowwise")
    _same(split, rowwise)
    assert split["manifest"]["dialect"] == {"format": "json", "encoding": "utf-8",
                                            **({} if cut_in_a_string else {"engine": "columnar"})}
    assert ("in 2 processes" in err) != cut_in_a_string, err
    assert [f["row"] for f in split["findings"] if f["rule_id"] == "input-duplicate-id"] == [701]
