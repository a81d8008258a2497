"""`make bench`: manifests of 100, 10 k, 100 k and 1 M rows through `checker check --format json`, with wall
time and peak memory (/usr/bin/time -v, and the summed RSS of the checker's processes), the naive per-row jsonschema baseline on the same files, and the
figures appended to bench/RESULTS.md with the machine and the date; then the 100 k- and 1 M-row parcels as JSON Lines
(the columnar run reads those too, checker/jsonl_columns.py) and as a JSON document (checker/json_array.py), in a
table each; the 1 M-row CSV into every other report format, one run each; and the summary at the top of RESULTS.md
rebuilt (bench/summary.py).

BENCH_SIZES=100,10000 make bench   # a quicker subset
BENCH_NAIVE_MAX=100000 make bench  # skip the naive baseline above this size (default 1 M: ~2-4 min per 1 M rows, so
                                   # a 10 M-row size in BENCH_SIZES does not add 20-40 min; "0" for every size)
BENCH_REPEAT=5 make bench          # checker runs per size up to 1 M rows (the median wall time is kept; default 3)
BENCH_SAME_MAX=10000 make bench    # the row-wise engine checks the largest size up to this too (default 100 k rows)
BENCH_JSONL=100000 make bench      # the same parcels as JSON Lines, these sizes (default 100 k and 1 M; "" for none)
BENCH_JSON=100000 make bench       # the same parcels as one JSON document (an array), these sizes (the same default)
BENCH_REPORTS=100000 make bench    # the other report formats (JUnit, SARIF, GitHub, HTML, text) of these CSV sizes,
                                   # one run each (default 1 M; "" for none)

The row-wise engine's report of one size (the largest up to BENCH_SAME_MAX) is compared with the columnar report of
the same file: the fast path must give the same report, in the same order (issue 7's differential tests, at scale).

Each run also times a fixed pure-Python loop (`yardstick`) before the sizes and after the largest size up to 1 M rows,
alone and as two copies at once, and lists every checker run: this VM's speed drifts (bench/RESULTS.md). After the
1 M-row runs it times `csv.DictReader` alone over the same file, the figure issue 7 gives for its machine (about 4 s),
and writes the 1 M-row wall time at that pace; then how long a new process takes to touch 1 GiB of fresh memory,
which on this VM is much of the spread between benches (fresh_memory_seconds).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import summary  # noqa: E402  bench/summary.py: RESULTS.md's summary, and the issue's pace it reads back
ROOT = HERE.parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent
POLICY = "inpost-international@2025-11-20"
# Data files are named after the generator's source, so a changed generator never benchmarks a stale file.
GEN = hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()[:8]


class RecordFormat(NamedTuple):
    """A table of the bench's parcels as JSON records: the environment variable with its sizes, the format's name in
    the table, and the function that writes the file."""

    env: str
    name: str
    make: Callable[[int], Path]


def manifest(n: int) -> Path:
    """The generated manifest of n rows, made on first use."""
    path = DATA / f"manifest-{n}-{GEN}.csv"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(path), "--rows", str(n)], check=True)
    return path


_NUMBERS = ("length_mm", "width_mm", "height_mm", "weight_kg", "declared_value", "cod_amount", "insurance_amount")


def jsonl_manifest(n: int) -> Path:
    """The n-row manifest as JSON Lines, made on first use: the same parcels, sizes, weights and values as JSON
    numbers where they are numbers, empty cells left out, as a system exporting JSON writes them."""
    path = DATA / f"manifest-{n}-{GEN}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with manifest(n).open(encoding="utf-8", newline="") as src, tmp.open("w", encoding="utf-8") as out:
            for row in csv.DictReader(src, delimiter=";"):
                rec: dict[str, object] = {}
                for key, cell in row.items():
                    if not cell:
                        continue
                    try:
                        rec[key] = float(cell.replace(",", ".")) if key in _NUMBERS else cell
                    except ValueError:
                        rec[key] = cell  # a deliberately bad number stays the text it is
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        tmp.replace(path)
    return path


def json_manifest(n: int) -> Path:
    """The n-row manifest as one JSON document, made on first use: the JSON Lines records in an array, indented as
    `json.dump(records, indent=2)` writes it (as an API hands a day's parcels out; checker/json_array.py)."""
    path = DATA / f"manifest-{n}-{GEN}.json"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with jsonl_manifest(n).open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as out:
            out.write("[")
            for i, line in enumerate(src):
                text = json.dumps(json.loads(line), ensure_ascii=False, indent=2).replace("\n", "\n  ")
                out.write(("," if i else "") + "\n  " + text)
            out.write("\n]")
        tmp.replace(path)
    return path


RECORD_FORMATS = [RecordFormat("BENCH_JSONL", "JSON Lines", jsonl_manifest), RecordFormat("BENCH_JSON", "JSON document", json_manifest)]


def records_table(fmt: RecordFormat) -> list[str]:
    """The RESULTS.md lines of one record format's table (none when its sizes are set to ""): each size checked as the
    CSV sizes are, and the smallest once more by the row-wise engine, whose report must be the same."""
    sizes = [int(x) for x in os.environ.get(fmt.env, "100000,1000000").split(",") if x.strip()]
    if not sizes:
        return []
    lines = ["", f"The same parcels as {fmt.name} (numbers as JSON numbers, empty cells left out), checked the same way; "
             "the row-wise engine checks the smallest size once:", "",
             f"| {fmt.name} rows | MB | checker wall s | every run s | checker CPU s | checker peak memory MiB | row-wise wall s | speed-up |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    same = "not compared"
    for n in sizes:
        path = fmt.make(n)
        _read_through(path)
        out = DATA / f"report-{n}-{path.suffix[1:]}.json"
        runs = [timed(check_cmd(path, out)) for _ in range(max(int(os.environ.get("BENCH_REPEAT", "3")), 1))]
        assert all(r.code == 0 for r in runs), f"checker failed on {path}"
        wall = _median([r.wall for r in runs])
        slow = None
        if n == min(sizes):
            slow_out = DATA / f"report-{n}-{path.suffix[1:]}-rowwise.json"
            slow = timed(check_cmd(path, slow_out, "rowwise"))
            diff = first_difference(out, slow_out)
            same = "the same report" if diff is None else f"**a different report** (first at {diff})"
        lines.append(f"| {n:,} | {path.stat().st_size / 1e6:.1f} | {wall:.2f} | {' / '.join(f'{r.wall:.2f}' for r in runs)} | "
                     f"{_median([r.cpu for r in runs]):.2f} | {max(r.rss for r in runs):.0f} | "
                     f"{f'{slow.wall:.2f}' if slow else '—'} | {f'{slow.wall / wall:.1f}×' if slow else '—'} |")
        print(f"{n:>9} {fmt.name} rows  checker {wall:6.2f} s" + (f"  row-wise {slow.wall:6.2f} s" if slow else ""), flush=True)
    lines.append(f"\nThe row-wise engine on the {min(sizes):,}-record {fmt.name} file: {same}, apart from the dialect's `engine`.")
    return lines


# The report formats other than JSON, which the targets are about: each is written as it is made from the run's
# spools (reports/ci.py, reports/render.py), so a 1 M-row check in any of them should cost about what the JSON one does.
REPORT_FORMATS = ("junit", "sarif", "github", "html", "text")


def reports_table() -> list[str]:
    """The RESULTS.md lines of the other report formats' table (none when BENCH_REPORTS is ""): the CSV manifest of
    each size checked once into each format."""
    sizes = [int(x) for x in os.environ.get("BENCH_REPORTS", "1000000").split(",") if x.strip()]
    if not sizes:
        return []
    lines = ["", "The same CSV files checked once into each other report format (`--format F --output FILE`):", "",
             "| report format | manifest rows | output MB | wall s | CPU s | peak memory MiB |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for n in sizes:
        path = manifest(n)
        _read_through(path)
        for fmt in REPORT_FORMATS:
            out = DATA / f"report-{n}-{fmt}.out"
            run = timed(check_cmd(path, out, fmt=fmt))
            assert run.code == 0 and out.stat().st_size > 0, f"checker failed on {path} into {fmt}"
            lines.append(f"| {fmt} | {n:,} | {out.stat().st_size / 1e6:.1f} | {run.wall:.2f} | {run.cpu:.2f} | {run.rss:.0f} |")
            print(f"{n:>9} rows into {fmt:<6}  checker {run.wall:6.2f} s {run.rss:7.0f} MiB", flush=True)
            out.unlink()
    return lines


def check_cmd(path: Path, out: Path, engine: str = "auto", fmt: str = "json") -> list[str]:
    """The timed command: `checker check` of `path` with the full policy into the report `out` (JSON unless `fmt`)."""
    return [str(BIN / "checker"), "check", str(path), "--policy", POLICY, "--format", fmt, "--output", str(out),
            "--fail-on", "never", "--quiet", "--engine", engine]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return f"{os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GiB, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def code_version() -> str:
    """The commit the bench measured, and whether the checker's code differed from it: RESULTS.md's summary compares
    benches of the same code (bench/summary.py), which dates alone told only through the notes."""
    try:
        head, tree = subprocess.run(["git", "rev-parse", "HEAD", "HEAD:checker"], cwd=ROOT, capture_output=True,
                                    text=True, check=True).stdout.split()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "checker", "reports", "policies", "pyproject.toml"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, ValueError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    # The tree of checker/ stays the same across commits that change only documents or benches.
    return f"commit `{head[:7]}`, checker/ tree `{tree[:7]}`" + (" with uncommitted changes to the checker" if dirty else "")


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    out = [pid]
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                for child in fh.read().split():
                    out += _tree(int(child))
    except OSError:
        pass
    return out


def _rss_kb(pid: int) -> int:
    """VmRSS from /proc/<pid>/status: cheap to read (smaps_rollup walks the page tables and was measured to slow
    the process it watches). Pages a forked child still shares are counted twice: an upper bound."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            found = re.search(r"^VmRSS:\s+(\d+) kB", fh.read(), re.M)
            return int(found.group(1)) if found else 0
    except OSError:
        return 0


_LOOP = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(10_000_000):\n    x += i * i\nprint(time.perf_counter() - t)"


def yardstick() -> tuple[float, float]:
    """Seconds a fixed pure-Python loop takes alone, and the slower of two copies run at once (both cores).

    Why: this VM's speed drifts by a third from one hour to the next and sometimes from one minute to the next
    (RESULTS.md, ninth session), so a run's figures are read against the machine's speed at that moment."""
    alone = float(subprocess.run([sys.executable, "-c", _LOOP], capture_output=True, text=True, check=True).stdout)
    both = [subprocess.Popen([sys.executable, "-c", _LOOP], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    return alone, max(float(p.communicate()[0]) for p in both)


# Issue 7 describes its machine by what two things take on the 1 M-row manifest: "csv.DictReader alone needs about
# 4 s", DuckDB about 1 s. The first one is timed here on the same file, so every bench says how fast this VM was
# against the pace the targets were set at (summary.ISSUE_DICTREADER_S, summary.at_issue_pace).
_DICTREADER = ("import csv, sys, time\nt = time.perf_counter()\n"
               "with open(sys.argv[1], newline='', encoding='utf-8') as fh:\n"
               "    for row in csv.DictReader(fh, delimiter=';'):\n        pass\n"
               "print(time.perf_counter() - t)")


_TOUCH = ("import mmap, sys, time\nn = int(sys.argv[1])\nt = time.perf_counter()\nm = mmap.mmap(-1, n)\n"
          "for off in range(0, n, 4096):\n    m[off] = 1\nprint(time.perf_counter() - t)")


def fresh_memory_seconds(size: int = 1 << 30) -> float:
    """Seconds a new process takes to touch `size` bytes (1 GiB) of memory it maps, one write a page.

    Why: on this VM much of the spread between benches is what a fresh page costs, and neither the yardstick nor
    DictReader allocates enough to show it. Touching pages the host already backs cost ~2.3 us each, pages it does
    not ~13 us (2026-11-23: 0.62 against 3.4 s a GiB in one process). A 1 M-row check touches ~180 k pages of its
    own and writes ~0.5 GB of spools and report into the page cache, so the same run took 2.0 s in one state and
    2.5-2.7 s (and 4.2 s, first thing) in the other. Timed after the runs, so its own touching does not warm them."""
    out = subprocess.run([sys.executable, "-c", _TOUCH, str(size)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def naive_wanted(n: int) -> bool:
    """Whether the naive baseline checks the n-row size: from 10 k rows (below, it is start-up) up to BENCH_NAIVE_MAX
    (default 1 M rows, the size the issue compares; "0" for no limit). It checks 4-8.5 k rows a second, so at 10 M rows
    it alone would take 20-40 minutes."""
    limit = int(os.environ.get("BENCH_NAIVE_MAX", "1000000") or 0)
    return n >= 10_000 and (limit == 0 or n <= limit)


def pace_line(wall: float, dictreader: float) -> str:
    """RESULTS.md's line with the issue's calibration (bench/summary.py reads it back: PACE there)."""
    return (f"Issue's pace: `csv.DictReader` alone reads the 1,000,000-row file in {dictreader:.2f} s (the issue: about "
            f"{summary.ISSUE_DICTREADER_S:.0f} s), so the 1 M-row wall time at the issue's pace is "
            f"{summary.at_issue_pace(wall, dictreader):.2f} s.\n")


def fresh_line(seconds: float) -> str:
    """RESULTS.md's line with the cost of fresh memory (bench/summary.py reads it back: FRESH there)."""
    return (f"Fresh memory: a new process touched 1 GiB it mapped in {seconds:.2f} s, right after the 1 M-row runs "
            "(on this VM about 0.6 s where the host already backs the guest's memory, 3.4 s where it does not).\n")


def dictreader_seconds(path: Path) -> float:
    """Seconds `csv.DictReader` alone takes to read `path` (the issue's own calibration of its machine).

    Why not only the yardstick: the yardstick says how this VM's speed moves between benches, but the issue set
    its 3 s on a machine where DictReader needed about 4 s; this figure puts a bench's wall time on that scale."""
    out = subprocess.run([sys.executable, "-c", _DICTREADER, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout)


class Timed(NamedTuple):
    wall: float  # seconds
    rss: float  # peak memory, MiB
    code: int  # exit code
    cpu: float  # user + system seconds, all its processes


def _median(values: list[float]) -> float:
    """The middle value (the upper one of an even count): what the bench reports of repeated runs."""
    return sorted(values)[len(values) // 2]


def timed(cmd: list[str]) -> Timed:
    """Wall time, peak memory, exit code and CPU time of one command.

    Wall time and the largest process's peak RSS from /usr/bin/time -v. A large CSV is checked in two processes
    (checker/halves.py), and /usr/bin/time reports only the larger one, so the resident sizes of the whole
    process tree are also summed every 50 ms; the figure kept is the larger of the two peaks.
    """
    proc = subprocess.Popen(["/usr/bin/time", "-v", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_kb = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_kb
        while not stop.wait(0.05):
            peak_kb = max(peak_kb, sum(_rss_kb(p) for p in _tree(proc.pid)[1:]))  # without /usr/bin/time itself

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", err)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", err).group(1)) for kind in ("User", "System"))
    return Timed(h * 3600 + m * 60 + s, max(rss, peak_kb) / 1024, proc.returncode, cpu)


def _read_through(path: Path) -> None:
    """Read `path` once, so the page cache holds it."""
    with path.open("rb") as fh:
        while fh.read(8 << 20):
            pass


def first_difference(fast: Path, slow: Path) -> str | None:
    """Where the columnar report `fast` differs from the row-wise report `slow` (None: nowhere), apart from the time
    it was written and the dialect's `engine` (which names the engine)."""
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (fast, slow))
    a["manifest"]["dialect"].pop("engine", None)
    for key in ("manifest", "policies", "summary", "shipments", "findings"):
        if a[key] != b[key]:
            if isinstance(a[key], list):
                at = next((i for i, (x, y) in enumerate(zip(a[key], b[key])) if x != y), min(len(a[key]), len(b[key])))
                return f"{key}[{at}] (of {len(a[key])} and {len(b[key])})"
            return key
    return None


def main() -> int:
    sizes = [int(x) for x in os.environ.get("BENCH_SIZES", "100,10000,100000,1000000").split(",")]
    DATA.mkdir(exist_ok=True)
    rows = []
    # One untimed run first: the first run after an install or a policy change builds the policy cache
    # (about a second); the figures are for the runs after it, as a warehouse checks batch after batch.
    # The columnar engine too: a check of 10 k rows or more imports Polars, whose library a 10 M-row run (5.6 GB read
    # and written) pushes out of this VM's page cache; read back from disk it added ~1.3 s to the first timed run.
    warm = manifest(100)
    for engine in ("auto", "columnar"):
        subprocess.run(check_cmd(warm, DATA / "report-warm-up.json", engine), check=True)
    sticks = [yardstick()]
    same_at = max((x for x in sizes if x <= int(os.environ.get("BENCH_SAME_MAX", "100000"))), default=None)
    same = None
    pace: tuple[float, float] | None = None  # the 1 M-row wall time and DictReader's over the same file
    fresh: float | None = None  # seconds to touch 1 GiB of fresh memory, right after
    for n in sizes:
        path = manifest(n)
        size_mb = path.stat().st_size / 1e6
        _read_through(path)  # in the page cache, as a manifest just exported is (not read back from disk by the first run)
        out = DATA / f"report-{n}.json"
        # The median of several runs: on a shared VM one run can be 30 % off the next (bench/RESULTS.md).
        repeat = int(os.environ.get("BENCH_REPEAT", "3")) if n <= 1_000_000 else 1
        runs = [timed(check_cmd(path, out)) for _ in range(max(repeat, 1))]
        assert all(r.code == 0 for r in runs), f"checker failed on {path}"
        wall = _median([r.wall for r in runs])
        walls = " / ".join(f"{r.wall:.2f}" for r in runs)
        rss = max(r.rss for r in runs)
        # CPU seconds (user + system, both processes): steadier than wall time on a VM whose CPUs slow down unevenly.
        cpu = _median([r.cpu for r in runs])
        naive = timed([sys.executable, str(HERE / "naive.py"), str(path)]) if naive_wanted(n) else None
        rows.append((n, size_mb, wall, walls, cpu, rss, naive))
        if n == same_at:
            slow_out = DATA / f"report-{n}-rowwise.json"
            subprocess.run(check_cmd(path, slow_out, "rowwise"), check=True)
            diff = first_difference(out, slow_out)
            same = (n, "the same report" if diff is None else f"**a different report** (first at {diff})")
            print(f"{n:>9} rows: the row-wise engine gives {same[1]}", flush=True)
        if n == max((x for x in sizes if x <= 1_000_000), default=sizes[-1]):
            sticks.append(yardstick())  # right after the largest size timed several times (or the only sizes, larger)
        if n == 1_000_000:
            pace = (wall, dictreader_seconds(path))
            fresh = fresh_memory_seconds()
        speedup = f"{naive.wall / wall:.1f}×" if naive else "—"
        print(f"{n:>9} rows {size_mb:7.1f} MB  checker {wall:6.2f} s {rss:7.0f} MiB   naive "
              f"{(f'{naive.wall:6.2f} s {naive.rss:6.0f} MiB' if naive else '—'):>20}  speed-up {speedup}", flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## {stamp}\n", f"Machine: {machine()}.", f"Code: {code_version()}.", f"Policy: `{POLICY}` (full), CSV → JSON, `--engine auto`, data from generator {GEN}. "
             f"Checker wall time and CPU time (user + system, all processes): the median of {os.environ.get('BENCH_REPEAT', '3')} runs up to 1 M rows (one above), peak memory the "
             "largest (of /usr/bin/time's peak RSS and the summed RSS of all the checker's processes, sampled every 50 ms); the naive baseline runs once.\n",
             "Yardstick (this VM's speed at the time: a fixed pure-Python loop, alone / two copies at once): "
             + ", then ".join(f"{a:.2f} / {b:.2f} s" for a, b in sticks) + ".\n",
             *([pace_line(*pace)] if pace else []),
             *([fresh_line(fresh)] if fresh is not None else []),
             "| rows | CSV MB | checker wall s | every run s | checker CPU s | checker peak memory MiB | naive jsonschema wall s | naive peak RSS MiB | speed-up |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, size_mb, wall, walls, cpu, rss, naive in rows:
        lines.append(f"| {n:,} | {size_mb:.1f} | {wall:.2f} | {walls} | {cpu:.2f} | {rss:.0f} | {f'{naive.wall:.2f}' if naive else '—'} | "
                     f"{f'{naive.rss:.0f}' if naive else '—'} | {f'{naive.wall / wall:.1f}×' if naive else '—'} |")
    if same is not None:
        lines.append(f"\nThe row-wise engine on the {same[0]:,}-row file: {same[1]}, apart from the dialect's `engine`.")
    for fmt in RECORD_FORMATS:
        lines += records_table(fmt)
    lines += reports_table()
    with (HERE / "RESULTS.md").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    summary.update(HERE / "RESULTS.md")
    print(f"Appended to {HERE / 'RESULTS.md'}, and its summary rebuilt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
