"""The second half of a large CSV checked in a forked process while this process checks the first half.

Why: about half of a chunk's time is Python (explanations, findings, their JSON), which holds one core
while Polars' threads wait; two processes over two halves of the file keep both cores busy (2026-11-21,
2 cores: two 500 k-row halves in 5.3 s against 7.2-8.2 s for the 1 M rows in one process).

Why fork, and only while Polars is not loaded: the child inherits the loaded policies and the engine as
they are, with nothing to pickle; and forking after Polars has started its thread pool can deadlock the
child. So only a process that has not imported Polars yet (the command line) splits; a test run or a
library caller that already uses Polars checks in one process.

Exactness: the halves are cut at a line end and the child numbers its rows after counting the first
half's lines, so findings, shipments and counts are those of one process. Two things only the whole file
knows are settled after both halves: a shipment id of the second half already used in the first (then
this process checks the second half itself, with the first half's ids, and the child's work is dropped),
and a file the columnar reader cannot take (then the row-wise engine reads the whole file, as it would
have without the split). A child that dies is replaced the same way.
"""

from __future__ import annotations

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
from dataclasses import dataclass
from typing import Any, Callable

MIN_BYTES = 96 << 20  # three chunks at least: below this a second process costs more than it saves


def wanted(size: int) -> bool:
    """Whether to split a file of `size` bytes: big enough, two cores this process may run on, and Polars not loaded
    (see above)."""
    min_bytes = int(os.environ.get("CHECKER_SPLIT_MIN_BYTES", MIN_BYTES))
    if os.environ.get("CHECKER_PROCESSES", "") == "1" or not hasattr(os, "fork"):
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


def cut_point(fh: Any, start: int, size: int) -> int | None:
    """The offset of the first line start at or after the parent's share of the body (a little over half, see
    _CHECK_VS_COUNT); None if there is none."""
    fh.seek(start + int((size - start) / (2 - _CHECK_VS_COUNT)) - 1)
    fh.readline()  # to the end of the line that holds the middle (a line start right at the middle stays)
    cut = fh.tell()
    fh.seek(start)
    return cut if start < cut < size else None


@dataclass
class Half:
    """The forked child checking [cut, end of file) into files under `tmp`."""

    pid: int
    fd: int
    tmp: str
    counter: mmap.mmap  # shared with the child: the rows it has checked so far, for the progress display
    cpus: tuple[int, int] | None = None  # the CPUs of this process and of the child (split_cpus), None when not pinned
    unpin: set[int] | None = None  # the CPUs this process may use again once the child is done

    def rows_done(self) -> int:
        return int(struct.unpack_from("q", self.counter, 0)[0])

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
        if not self.counter.closed:
            self.counter.close()
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


def fork(path: str, header: Any, body_start: int, cut: int, engine: Any, norm: Any, want_passed: bool) -> Half:
    """Start the child for [cut, end of file); this process goes on with [body_start, cut)."""
    tmp = tempfile.mkdtemp(prefix="checker-half-")
    # One Polars thread per process: two processes with two threads each on two cores were measured slower
    # (2026-11-21, 1 M rows: 7.9-8.1 s against 6.6-7.5 s). Set before either process imports Polars.
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    r, w = os.pipe()
    counter = mmap.mmap(-1, 8)  # anonymous and shared: it stays one page for both processes after the fork
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
            data = pickle.dumps(_check(path, header, body_start, cut, engine, norm, want_passed, tmp, counter))
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    if cpus is not None:
        _pin({cpus[0]})  # before Polars starts its threads here, so they are pinned with this one
    return Half(pid, r, tmp, counter, cpus, set(allowed) if cpus is not None else None)


def _check(path: str, header: Any, body_start: int, cut: int, engine: Any, norm: Any, want_passed: bool, tmp: str,
           counter: mmap.mmap) -> dict[str, Any]:
    """In the child: check [cut, end) with row numbers that continue the first half's."""
    from . import columnar
    from .run import ReportBuilder

    import polars as pl

    out = ReportBuilder(want_passed, spool_dir=tmp)  # spooled straight into files this process's parent appends
    with open(path, "rb") as fh:
        fh.seek(body_start)
        lines, left = 0, cut - body_start
        while left > 0:
            block = fh.read(min(left, 8 << 20))
            if not block:
                break
            lines += block.count(b"\n")
            left -= len(block)
        state = columnar._Run(pl, engine, norm, out, header)
        try:
            state.check_range(fh, 2 + lines, None, lambda: struct.pack_into("q", counter, 0, out.rows))
        except Exception as exc:  # noqa: BLE001 - columnar.run treats any failure alike: the row-wise engine reads the file
            return {"unsuitable": f"{type(exc).__name__}: {exc}"}
    state.seen.write_ipc(os.path.join(tmp, "ids.arrow"))
    return {
        "findings": out.findings.flush(), "shipments": out.shipments.flush(),
        "rows": out.rows, "statuses": out.statuses, "severities": out.severities, "passed": out.passed,
        "unknown": dict(norm.unknown), "used": sorted(engine.used),
    }


def merge(half: Half, result: dict[str, Any], out: Any, engine: Any, norm: Any) -> None:
    """Add the child's findings, shipments and counts after this process's own (the first half's)."""
    out.findings.extend_from(os.path.join(half.tmp, "findings"), result["findings"])
    out.shipments.extend_from(os.path.join(half.tmp, "shipments"), result["shipments"])
    out.rows += result["rows"]
    for key, n in result["statuses"].items():
        out.statuses[key] += n
    for key, n in result["severities"].items():
        out.severities[key] += n
    out.passed.extend(result["passed"])
    for name, n in result["unknown"].items():
        norm.unknown[name] = norm.unknown.get(name, 0) + n
    for fid, vid in result["used"]:
        engine.used[(fid, vid)] = engine.policies.family(fid).version(vid)


def shares_ids(pl: Any, half: Half, seen: Any) -> bool:
    """Whether a shipment id of the child's half was already used in this process's half.

    Ids are compared by their 64-bit hash first (both tables keep it: columnar._Run.seen), and by text only when a
    hash is shared: this runs after both halves, while nothing else does, and the texts cost 110 ms (500 k ids a
    side)."""
    theirs = pl.read_ipc(os.path.join(half.tmp, "ids.arrow"))
    if not (theirs.height and seen.height):
        return False
    if not theirs["__h"].is_in(seen["__h"].implode()).any():
        return False
    return bool(theirs["__sid"].is_in(seen["__sid"].implode()).any())
