"""The second half of a large CSV checked in a forked process while this process checks the first half.

Why: about half of a chunk's time is Python (explanations, findings, their JSON), which holds one core
while Polars' threads wait; two processes over two halves of the file keep both cores busy (2026-11-21,
2 cores: two 500 k-row halves in 5.3 s against 7.2-8.2 s for the 1 M rows in one process).

Why fork, and only while Polars is not loaded: the child inherits the loaded policies and the engine as
they are, with nothing to pickle; and forking after Polars has started its thread pool can deadlock the
child. So only a process that has not imported Polars yet (the command line) splits; a test run or a
library caller that already uses Polars checks in one process.

Why the shares move (Shares): two processes given fixed halves did not finish together. One started later, one
CPU of the VM ran slower than the other, and the idle one waited 0.25-0.7 s of a 4 s run (2026-11-23, five 1 M-row
runs). So each process takes its next chunk from its share under a lock, and one that has finished its own share
takes over the back half of what is left of the other's (from a few MB on), again and again until little is left.

Exactness: shares are cut at line ends, and a process that takes over a range first counts the lines before it, so
row numbers, findings, shipments and counts are those of one process. The records of each range a process checks
(a Segment) go to their own files, and the report takes them in the file's order. Two things only the whole file
knows are settled at the end. A shipment id used in two ranges: the later range's rows with that id are checked
again one by one and their records replace the range's (settle_ids; 2026-11-23, four such rows in the 1 M-row
file: 4.1 s, where checking the rest of the file again took 7.5 s); with more than PATCH_MAX_ROWS such rows this
process checks everything after its first range itself, with that range's ids, and the rest of the work is
dropped. And a file the columnar reader cannot take: the row-wise engine reads the whole file, as it would have
without the split. A child that dies is replaced as for many shared ids.
"""

from __future__ import annotations

import json
import mmap
import os
import pickle
import select
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import recordlog

try:
    import fcntl
except ImportError:  # Windows, which has no fork either: one process
    fcntl = None  # type: ignore[assignment]

MIN_BYTES = 96 << 20  # three chunks at least: below this a second process costs more than it saves


def wanted(size: int) -> bool:
    """Whether to split a file of `size` bytes: big enough, two cores this process may run on, and Polars not loaded
    (see above)."""
    min_bytes = int(os.environ.get("CHECKER_SPLIT_MIN_BYTES", MIN_BYTES))
    if os.environ.get("CHECKER_PROCESSES", "") == "1" or not hasattr(os, "fork") or fcntl is None:
        return False
    return size >= min_bytes and len(allowed_cpus()) >= 2 and "polars" not in sys.modules


def allowed_cpus() -> list[int]:
    """The CPUs this thread may run on (a container or `taskset` may allow fewer than the machine has)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def split_cpus(allowed: list[int]) -> tuple[int, int] | None:
    """The CPUs the first and the second half are pinned to, or None to leave both to the scheduler.

    Why pin: each process runs its Python thread and two Polars worker threads (the thread pool and the streaming
    executor) that hand every operation to each other. Left free, they wake each other across the two CPUs, and on
    this VM a wake-up on another CPU costs an interrupt through the hypervisor. One process on 600 k rows, pinned to
    one CPU against free to use two: 4.9 against 5.3 s; two such processes side by side, pinned each to its own CPU
    against free: 4.5-5.3 against 5.3-5.6 s (2026-11-22). Only where exactly two CPUs are allowed, the case measured:
    with more, the scheduler has idle CPUs to place the threads on, and pinning would only take that choice away."""
    return (allowed[0], allowed[1]) if len(allowed) == 2 else None


def _pin(cpus: set[int]) -> None:
    """Run this thread, and the threads it starts from now on, on `cpus` only (best effort: a refusal changes nothing)."""
    try:
        os.sched_setaffinity(0, cpus)
    except (AttributeError, OSError):
        pass


# The child first counts the lines of the first half (to number its rows), ~25 times faster than a process checks
# them (2026-11-22: 144 MB counted in 0.11-0.14 s, checked at ~42 MB/s); the first half is made that much longer
# so both finish together: parent share P of body B with P/check = P/count + (B - P)/check, P = B / (2 - check/count).
_CHECK_VS_COUNT = 0.04
# Less than this left of the other process's share is not worth taking over: taking over costs counting the lines
# before the range (up to a chunk, ~25 ms) and a chunk's fixed costs (~30 ms), and half of 8 MB is ~70 ms of work.
STEAL_MIN_BYTES = 8 << 20


def cut_point(fh: Any, start: int, size: int) -> int | None:
    """The offset of the first line start at or after the parent's share of the body (a little over half, see
    _CHECK_VS_COUNT); None if there is none. CHECKER_SPLIT_SHARE sets the share (tests use it to make one process's
    share much longer than the other's)."""
    share = float(os.environ.get("CHECKER_SPLIT_SHARE") or 1 / (2 - _CHECK_VS_COUNT))
    fh.seek(start + int((size - start) * share) - 1)
    fh.readline()  # to the end of the line that holds the middle (a line start right at the middle stays)
    cut = fh.tell()
    fh.seek(start)
    return cut if start < cut < size else None


def count_lines(fh: Any, start: int, end: int) -> int:
    """The line ends in bytes [start, end) of `fh` (moves its position)."""
    fh.seek(start)
    lines, left = 0, end - start
    while left > 0:
        block = fh.read(min(left, 8 << 20))
        if not block:
            break
        lines += block.count(b"\n")
        left -= len(block)
    return lines


_SLOT = struct.Struct("qqqq")  # next unclaimed byte, end of the share, a line start at or before next, its line number


class Shares:
    """The two processes' shares of the file, in one page both processes map, changed under a lock.

    A share is [next, end): its owner claims a chunk from `next` on, and the other process, once out of work, takes
    over [x, end) for a line start x in the middle, so the owner's `end` moves back to x. (base, base_line) is a line
    start at or before `next` with its line number, published at every claim, so a taker counts only the lines
    from there to x; base_line is -1 while the owner itself does not know it yet (it is counting). Offset 0 holds the
    rows the child has checked, for the progress display."""

    def __init__(self, folder: str, first: tuple[int, int, int], second: tuple[int, int, int], chunk_bytes: int) -> None:
        """`first`, `second`: (start, end, line number of start or -1) of the two processes' shares."""
        self.chunk_bytes = chunk_bytes
        self.min_steal = max(2, int(os.environ.get("CHECKER_STEAL_MIN_BYTES") or STEAL_MIN_BYTES))
        self.fd = os.open(os.path.join(folder, "shares"), os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(self.fd, mmap.PAGESIZE)
        self.page = mmap.mmap(self.fd, mmap.PAGESIZE)  # shared: both processes see every write
        for me, (start, end, line) in enumerate((first, second)):
            self._set(me, start, end, start, line)

    # ---- the page ---------------------------------------------------------------------------
    def _get(self, me: int) -> tuple[int, int, int, int]:
        return _SLOT.unpack_from(self.page, 64 + 32 * me)  # type: ignore[return-value]

    def _set(self, me: int, nxt: int, end: int, base: int, base_line: int) -> None:
        _SLOT.pack_into(self.page, 64 + 32 * me, nxt, end, base, base_line)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """fcntl record locks belong to a process, so the two processes exclude each other through the one file."""
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def rows(self) -> int:
        return int(struct.unpack_from("q", self.page, 0)[0])

    def set_rows(self, rows: int) -> None:
        struct.pack_into("q", self.page, 0, rows)

    def publish_line(self, me: int, line: int) -> None:
        """The line number of `me`'s base, once counted."""
        with self._locked():
            nxt, end, base, _ = self._get(me)
            self._set(me, nxt, end, base, line)

    # ---- claiming and taking over -----------------------------------------------------------
    def claim(self, me: int, fh: Any, line: int) -> tuple[bytes, int, int] | None:
        """The next chunk of `me`'s share as (block, size, offset): the block's first `size` bytes are whole lines, the
        rest (if any) the start of the next line, as columnar._chunks gives them; None when the share is done. `line`:
        the number of the line at `next` (this process has checked everything before it)."""
        with self._locked():
            nxt, end, _, _ = self._get(me)
        if nxt >= end:
            return None
        fh.seek(nxt)
        block = fh.read(min(self.chunk_bytes, end - nxt))  # read unlocked: the other process may take over meanwhile
        with self._locked():
            end = self._get(me)[1]
            if not block:
                size = end = nxt  # the file was cut short while checked: nothing left here
            elif nxt + len(block) > end:  # the other process took over part of this block: only up to its start
                block = block[:end - nxt]
                size = len(block)
            elif nxt + len(block) == end:  # to the end of the share, a line start (or the end of the file)
                size = len(block)
            else:
                cut = block.rfind(b"\n")
                if cut < 0:
                    from .columnar import Unsuitable
                    raise Unsuitable("a line longer than a chunk")
                size = cut + 1
            self._set(me, nxt + size, end, nxt, line)
        return (block, size, nxt) if size else None

    def take_over(self, me: int, fh: Any, gone: Callable[[], bool] | None = None) -> tuple[int, int] | None:
        """Take over the back half of the other process's share as `me`'s new share: (its start, the line number
        there), or None when too little is left, or the other process is `gone` before it could say where its lines
        start."""
        other = 1 - me
        patience = time.monotonic() + 5.0
        while True:
            with self._locked():
                nxt, end, base, base_line = self._get(other)
                if end - nxt < self.min_steal:
                    return None
                if base_line >= 0:
                    fh.seek(nxt + (end - nxt) // 2 - 1)
                    fh.readline()
                    start = fh.tell()
                    if not nxt < start < end:
                        return None
                    self._set(other, nxt, start, base, base_line)
                    self._set(me, start, end, start, -1)
                    break
            if time.monotonic() > patience or (gone is not None and gone()):  # Half.result settles a death
                return None
            time.sleep(0.002)  # the other process is counting the lines before its share: a few ms
        line = base_line + count_lines(fh, base, start)
        self.publish_line(me, line)
        return start, line

    def close(self) -> None:
        if not self.page.closed:
            self.page.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class Segment:
    """One range of the file one process checked, into its own report records (`out`, a run.ReportBuilder)."""

    start: int  # offset of its first line
    line: int  # the number of its first line
    out: Any
    folder: str | None = None  # where `out` spools (None: the report's own records, the first process's first range)
    end: int = 0  # offset after its last line, and that line's number + 1, once done
    end_line: int = 0
    seen: Any = None  # its shipment ids (columnar._Run.seen), once done
    repeats: Any = None  # and the rows that repeat one of them (columnar._Run.repeats, one table)
    chunks: list[tuple[int, int]] = field(default_factory=list)  # (offset, line number) of each chunk's first line
    seen_ids: dict[str, int] | None = None  # and the row-wise reader's (Normaliser.seen_ids)
    unknown: dict[str, int] | None = None  # Normaliser.unknown when it was done (to undo later ranges, see run)


def work(shares: Shares, me: int, state: Any, fh: Any, start: int, line: int, folder: str, segments: list[Segment],
         each: Callable[[], None] | None = None, gone: Callable[[], bool] | None = None) -> None:
    """Check `me`'s share with `state` (a columnar._Run, whose `out` takes the first range), then take over parts of
    the other's share as long as there are; every range checked is appended to `segments` as it starts. `gone`: whether
    the other process has ended (Shares.take_over)."""
    from .run import ReportBuilder

    seg = Segment(start, line, state.out)
    segments.append(seg)
    pos = start
    while True:
        piece = shares.claim(me, fh, line)
        if piece is None:
            seg.end, seg.end_line, seg.seen, seg.seen_ids, seg.unknown = pos, line, state.seen, state.norm.seen_ids, dict(state.norm.unknown)
            seg.repeats = _repeats(state)
            got = shares.take_over(me, fh, gone)
            if got is None:
                return
            pos, line = got
            sub = os.path.join(folder, f"{me}-{pos}")
            os.mkdir(sub)
            seg = Segment(pos, line, ReportBuilder(state.out.want_passed, spool_dir=sub), sub)
            segments.append(seg)
            state.begin(seg.out)
            continue
        block, size, at = piece
        seg.chunks.append((at, line))
        line += state.chunk(block, line, size)
        del block, piece  # released before the next read (see columnar._chunks)
        pos = at + size
        if each is not None:
            each()


@dataclass
class Half:
    """The forked child checking the second share (and what it takes over) into files under `tmp`."""

    pid: int
    fd: int
    tmp: str
    shares: Shares  # shared with the child
    cpus: tuple[int, int] | None = None  # the CPUs of this process and of the child (split_cpus), None when not pinned
    unpin: set[int] | None = None  # the CPUs this process may use again once the child is done

    def rows_done(self) -> int:
        return self.shares.rows()

    def gone(self) -> bool:
        """Whether the child has ended (its pipe is readable when it has written its result or died)."""
        return self.fd >= 0 and bool(select.select([self.fd], [], [], 0)[0])
    def result(self, waiting: Callable[[], None] | None = None) -> dict[str, Any] | None:
        """The child's result (see _check), or None when it died without one; `waiting` is called every half
        second until the child answers (the progress display goes on counting its rows)."""
        chunks = []
        with os.fdopen(self.fd, "rb") as fh:
            self.fd = -1  # closed with fh: its number may be reused, so abandon() must not close it again
            while waiting is not None and not select.select([fh], [], [], 0.5)[0]:
                waiting()
            while block := fh.read(1 << 20):
                chunks.append(block)
        pid, self.pid = self.pid, 0
        self._unpin()
        try:
            result = pickle.loads(b"".join(chunks)) if chunks else None
        except Exception:  # noqa: BLE001 - a truncated result is no result
            result = None
        if result is None:
            os.waitpid(pid, 0)
            return None
        # A whole result: the child has only its exit left, which takes 30-45 ms to unmap ~0.5 GB (2026-11-22);
        # it is reaped on the side, so the report is not written after it when the second half ends last.
        threading.Thread(target=os.waitpid, args=(pid, 0), name="checker-reap", daemon=True).start()
        return result

    def abandon(self) -> None:
        """Stop the child if it still runs (this process hit a problem, or was interrupted) and remove its files;
        safe to call again, and after result()."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.shares.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._unpin()

    def _unpin(self) -> None:
        """This process may use the CPUs it had before the split again: its own thread, and the threads Polars started
        while it was pinned, which a library caller goes on using after the check."""
        if self.unpin is not None:
            try:
                threads = [int(t) for t in os.listdir("/proc/self/task")]
            except OSError:  # no /proc: this thread only
                threads = [0]
            for tid in threads:
                try:
                    os.sched_setaffinity(tid, self.unpin)
                except (AttributeError, OSError):  # a thread that has just ended
                    pass
            self.unpin = None


def fork(path: str, header: Any, body_start: int, cut: int, size: int, engine: Any, norm: Any, want_passed: bool,
         chunk_bytes: int) -> Half:
    """Start the child on the share [cut, size); this process goes on with [body_start, cut) (see work)."""
    tmp = tempfile.mkdtemp(prefix="checker-half-")
    # One Polars thread per process: two processes with two threads each on two cores were measured slower
    # (2026-11-21, 1 M rows: 7.9-8.1 s against 6.6-7.5 s). Set before either process imports Polars.
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    try:
        shares = Shares(tmp, (body_start, cut, 2), (cut, size, -1), chunk_bytes)
        r, w = os.pipe()
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    sys.stdout.flush()
    sys.stderr.flush()
    allowed = allowed_cpus()
    cpus = split_cpus(allowed) if hasattr(os, "sched_setaffinity") else None  # elsewhere nothing is pinned, or said to be
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's stack
        code = 1
        try:
            os.close(r)
            if cpus is not None:
                _pin({cpus[1]})
            data = pickle.dumps(_check(path, header, body_start, cut, engine, norm, want_passed, tmp, shares))
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    if cpus is not None:
        _pin({cpus[0]})  # before Polars starts its threads here, so they are pinned with this one
    return Half(pid, r, tmp, shares, cpus, set(allowed) if cpus is not None else None)


def _check(path: str, header: Any, body_start: int, cut: int, engine: Any, norm: Any, want_passed: bool, tmp: str,
           shares: Shares) -> dict[str, Any]:
    """In the child: check the second share, and what it takes over, with row numbers that continue the first's."""
    from . import columnar
    from .run import ReportBuilder

    import polars as pl

    first = os.path.join(tmp, f"1-{cut}")
    os.mkdir(first)
    segments: list[Segment] = []
    with open(path, "rb") as fh:
        line = 2 + count_lines(fh, body_start, cut)
        shares.publish_line(1, line)
        state = columnar._Run(pl, engine, norm, ReportBuilder(want_passed, spool_dir=first), header)
        try:
            parent = os.getppid()
            work(shares, 1, state, fh, cut, line, tmp, segments, lambda: shares.set_rows(sum(s.out.rows for s in segments)),
                 lambda: os.getppid() != parent)
        except Exception as exc:  # noqa: BLE001 - columnar.run treats any failure alike: the row-wise engine reads the file
            return {"unsuitable": f"{type(exc).__name__}: {exc}"}
    segments[0].folder = first
    done = []
    for seg in segments:
        seg.seen.write_ipc(os.path.join(seg.folder, "ids.arrow"))
        seg.repeats.write_ipc(os.path.join(seg.folder, "repeats.arrow"))
        done.append({"start": seg.start, "folder": seg.folder, "chunks": seg.chunks, **_counts(seg.out)})
    return {"segments": done, "unknown": dict(norm.unknown), "used": sorted(engine.used)}


def _counts(out: Any) -> dict[str, Any]:
    """What merge needs of a range's ReportBuilder besides its files."""
    return {"findings": out.findings.flush(), "shipments": out.shipments.flush(), "rows": out.rows,
            "statuses": out.statuses, "severities": out.severities, "passed": out.passed}


def _repeats(state: Any) -> Any:
    """The rows of the range `state` has just checked that repeat an id of the range, as one table."""
    pl = state.pl
    parts = [t for t in state.repeats if t.height]
    return pl.concat(parts) if parts else pl.DataFrame(schema={"__row": pl.Int64, "__sid": pl.String})


# Rows whose shipment id an earlier range used first are checked again one by one (columnar._Run.reevaluate, a few
# ms each) and their records put in place of the range's; with more than this, checking the rest of the file again in
# one process costs less.
PATCH_MAX_ROWS = 256


@dataclass
class _Range:
    """A checked range, this process's or the child's, as merge takes it."""

    start: int
    folder: str | None  # None: the report's own records (the first range)
    counts: dict[str, Any]  # _counts
    seen: Any
    repeats: Any
    chunks: list[tuple[int, int]]
    patches: list[tuple[int, list[str], list[str], str, str | None]] = field(default_factory=list)  # settle_ids


def ranges(pl: Any, mine: list[Segment], result: dict[str, Any]) -> list[_Range]:
    """Every range of both processes, in the file's order."""
    out = [_Range(s.start, s.folder, _counts(s.out) if s.folder else {}, s.seen, s.repeats, s.chunks) for s in mine]
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
        r.patches = [(row, *state.reevaluate(lines[row], row, sid, first)) for row, sid, first in rows.iter_rows()]
    return True


def _manifest_lines(fh: Any, chunks: list[tuple[int, int]], rows: list[int]) -> dict[int, bytes]:
    """The manifest lines of `rows` (sorted), found from the range's chunk starts (offset, line number)."""
    got: dict[int, bytes] = {}
    k = 0
    for row in rows:
        while k + 1 < len(chunks) and chunks[k + 1][1] <= row:
            k += 1
        at, line = chunks[k]
        fh.seek(at)
        for _ in range(row - line):
            fh.readline()
        got[row] = fh.readline()
    return got


def _counts(out: Any) -> dict[str, Any]:
    """What merge needs of a range's ReportBuilder besides its files."""
    return {"findings": out.findings.flush(), "shipments": out.shipments.flush(), "rows": out.rows,
            "statuses": dict(out.statuses), "severities": dict(out.severities), "passed": out.passed}


def merge(todo: list[_Range], mine: list[Segment], result: dict[str, Any], out: Any, engine: Any, norm: Any) -> None:
    """Add the later ranges' findings, shipments and counts to the first range's (`out`), in the file's order, with
    the records of the rows settle_ids checked again in place of theirs. Ranges of this process were counted into
    `norm` already, the child's come with `result`."""
    for r in todo[1:]:
        c = r.counts
        findings, shipments = os.path.join(r.folder, "findings"), os.path.join(r.folder, "shipments")
        statuses, severities, n_findings, n_shipments = dict(c["statuses"]), dict(c["severities"]), c["findings"], c["shipments"]
        passed = c["passed"]
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
            passed = [p for p in passed if p[1] not in again]
        out.findings.extend_from(findings, n_findings)
        out.shipments.extend_from(shipments, n_shipments)
        out.rows += c["rows"]
        for key, n in statuses.items():
            out.statuses[key] += n
        for key, n in severities.items():
            out.severities[key] += n
        out.passed.extend(passed)
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
