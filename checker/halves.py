"""The second part of a large CSV checked in a forked process while this process checks the first.

Why: about half of a chunk's time is Python (explanations, findings, their JSON), which holds one core
while Polars' threads wait; two processes over two halves of the file keep both cores busy (2026-11-21,
2 cores: two 500 k-row halves in 5.3 s against 7.2-8.2 s for the 1 M rows in one process).

Why fork, and only while Polars is not loaded: the child inherits the loaded policies and the engine as
they are, with nothing to pickle; and forking after Polars has started its thread pool can deadlock the
child. So only a process that has not imported Polars yet (the command line) splits; a test run or a
library caller that already uses Polars checks in one process. fork() itself imports Polars just before
forking, so the child inherits the loaded library too (see fork); a helper process started before that import
counts the first share's lines for the child and then frees the run's large files (_count_aside, checker/disposal.py).

The two processes start on the two sides of cut_point and then share the work as it comes (checker/shares.py);
this process puts their ranges together (checker/ranges.py). Exactness: shares are cut at line ends, and a process
that takes over a range first counts the lines before it, so row numbers, findings, shipments and counts are those
of one process. Two things only the whole file knows are settled at the end: a shipment id used in two ranges
(ranges.settle_ids) and a file the columnar reader cannot take (then the row-wise engine reads the whole file, as
it would have without the split). A child that dies is replaced: this process checks the rest itself.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import struct
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from . import disposal
from .ranges import counts
from .shares import Segment, Shares, count_lines, fcntl, work

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


# The child numbers its rows from the count of the first half's lines, ~25 times faster than a process checks them
# (2026-11-22: 144 MB counted in 0.08-0.14 s, checked at ~42 MB/s); the first half is made that much longer so both
# finish together: parent share P of body B with P/check = P/count + (B - P)/check, P = B / (2 - check/count). The
# helper (_count_aside) now counts while this process imports Polars, so the child mostly finds the count ready;
# the shares even out what is left as the work comes (checker/shares.py).
_CHECK_VS_COUNT = 0.04


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
    # (2026-11-21, 1 M rows: 7.9-8.1 s against 6.6-7.5 s). Read by Polars when it is imported.
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    count_pipe = _count_aside(path, body_start, cut)  # while Polars is imported below
    # Imported here, before the fork, so the child does not import it again: ~0.15 s of CPU and its page faults
    # (2026-11-22, 1 M rows, twelve alternating pairs: CPU 5.91 -> 5.61 s, wall 3.20 -> 3.11 s, medians). Safe:
    # the import starts no thread pool (Polars starts it at the first operation, after the fork in each process),
    # only Polars' spill cleaner, idle until a query spills to disk (none does here); jemalloc's background threads
    # are off (checker/allocators.py), and jemalloc keeps its own locks consistent across fork (pthread_atfork).
    import polars  # noqa: F401
    try:
        shares = Shares(tmp, (body_start, cut, 2), (cut, size, -1), chunk_bytes)
        r, w = os.pipe()
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        _drop(count_pipe)
        raise
    sys.stdout.flush()
    sys.stderr.flush()
    allowed = allowed_cpus()
    cpus = split_cpus(allowed) if hasattr(os, "sched_setaffinity") else None  # elsewhere nothing is pinned, or said to be
    with warnings.catch_warnings():  # Python 3.12+ warns of any fork with threads: those above are safe
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            pid = os.fork()
        except OSError:
            shares.close()
            os.close(r)
            os.close(w)
            shutil.rmtree(tmp, ignore_errors=True)
            _drop(count_pipe)
            raise
    if pid == 0:  # the child: never returns into the caller's stack
        code = 1
        try:
            os.close(r)
            disposal.finish()  # the helper frees files for the parent, not for this process
            if cpus is not None:
                _pin({cpus[1]})
            data = pickle.dumps(_check(path, header, body_start, cut, engine, norm, want_passed, tmp, shares,
                                       -1 if count_pipe is None else count_pipe))
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    _drop(count_pipe)  # the child reads the answer
    if cpus is not None:
        _pin({cpus[0]})  # before Polars starts its threads here, so they are pinned with this one
    return Half(pid, r, tmp, shares, cpus, set(allowed) if cpus is not None else None)


_COUNT = struct.Struct("q")


def _count_aside(path: str, start: int, end: int) -> int | None:
    """Start the helper process: it counts the line ends in [start, end) of `path` for the child, then frees large
    files for this process (checker/disposal.py) until this process ends. The pipe the count comes from; None where
    the helper cannot be started (the child then counts itself, and files are freed here).

    Why: the child numbers its rows from the count, and counting its 144 MB took 0.08-0.15 s before its first chunk,
    while this process imports Polars (~0.12 s) with the second core idle (2026-11-22). Started before that import, so
    it has no thread of Polars' to worry about. Forked twice, so it is nobody's child to reap: it ends on its own when
    this process's end of its socket closes."""
    try:
        r, w = os.pipe()
    except OSError:
        return None
    try:
        mine, its = disposal.pair()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    try:
        pid = os.fork()
    except OSError:
        for sock in (mine, its):
            sock.close()
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the intermediate process: starts the helper and ends at once
        try:
            if os.fork() == 0:
                _helper(path, start, end, w, its)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    os.close(w)
    its.close()
    disposal.attach(mine)
    return r


def _helper(path: str, start: int, end: int, w: int, sock: Any) -> None:
    """The helper process (see _count_aside); never returns."""
    try:
        keep = sorted((w, sock.fileno()))
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # not the caller's streams: a reader waiting for their end must not wait for this process
            os.dup2(null, fd)
        os.closerange(3, keep[0])  # nor any other file of the parent's (its end of the socket above all)
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 1 << 16)
        try:
            with open(path, "rb") as fh:
                lines = count_lines(fh, start, end)
            os.write(w, _COUNT.pack(lines))  # 8 bytes, under PIPE_BUF: one atomic write
        except OSError:
            pass  # the child counts itself
        os.close(w)
        disposal.serve(sock)
    finally:
        os._exit(0)


def _drop(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _counted(fd: int) -> int | None:
    """The line count the helper (_count_aside) sent on `fd` (closed here), or None if it ended without one."""
    if fd < 0:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(_COUNT.size)
    except OSError:
        return None
    return _COUNT.unpack(data)[0] if len(data) == _COUNT.size else None


def _check(path: str, header: Any, body_start: int, cut: int, engine: Any, norm: Any, want_passed: bool, tmp: str,
           shares: Shares, counted: int = -1) -> dict[str, Any]:
    """In the child: check the second share, and what it takes over, with row numbers that continue the first's;
    `counted`: the pipe the first share's line count comes from (_count_aside), -1 to count here."""
    from . import columnar
    from .run import ReportBuilder

    import polars as pl

    first = os.path.join(tmp, f"1-{cut}")
    os.mkdir(first)
    segments: list[Segment] = []
    with open(path, "rb") as fh:
        lines = _counted(counted)
        line = header.first_line + (count_lines(fh, body_start, cut) if lines is None else lines)
        shares.publish_line(1, line)
        state = columnar._Run(pl, engine, norm, ReportBuilder(want_passed, spool_dir=first), header)
        try:
            parent = os.getppid()
            work(shares, 1, state, fh, cut, line, tmp, segments, lambda: shares.set_rows(sum(s.out.rows for s in segments)),
                 lambda: os.getppid() != parent, first)
        except Exception as exc:  # noqa: BLE001 - columnar.run treats any failure alike: the row-wise engine reads the file
            return {"unsuitable": f"{type(exc).__name__}: {exc}"}
    done = []
    for seg in segments:
        seg.seen.write_ipc(os.path.join(seg.folder, "ids.arrow"))
        seg.repeats.write_ipc(os.path.join(seg.folder, "repeats.arrow"))
        done.append({"start": seg.start, "folder": seg.folder, "chunks": seg.chunks, **counts(seg.out)})
    return {"segments": done, "unknown": dict(norm.unknown), "used": sorted(engine.used)}
