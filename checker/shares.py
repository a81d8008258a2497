"""Two processes' shares of one CSV, and the loop that checks a share and then takes over part of the other's.

Why the shares move: two processes given fixed halves did not finish together. One started later, one CPU of the
VM ran slower than the other, and the idle one waited 0.25-0.7 s of a 4 s run (2026-11-22, five 1 M-row runs). So
each process takes its next chunk from its share under a lock (Shares), and one that has finished its own share
takes over the back half of what is left of the other's (from a few MB on), again and again until little is left.
Every range a process checks is a Segment with its own report records; checker/ranges.py puts them together.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows, which has no fork either: one process (halves.wanted)
    fcntl = None  # type: ignore[assignment]

# Less than this left of the other process's share is not worth taking over: taking over costs counting the lines
# before the range (up to a chunk, ~25 ms) and a piece's fixed costs (~0.1 s: 2026-11-22, a 0.6 MB piece took 0.11 s,
# a 33 MB one 0.55 s), while half of 8 MB is ~70 ms of the other's work, on top of the piece it is checking. This is
# the rule while a process has no measured speed of its own (see split); with one, a piece down to TAKE_MIN_BYTES is
# taken where the sums say both then end about together.
STEAL_MIN_BYTES = 8 << 20
TAKE_MIN_BYTES = 2 << 20
TAKE_COST_S = 0.08  # what taking over a piece costs the taker before it checks a row of it (see above)


def count_lines(fh: Any, start: int, end: int) -> int:
    """The line ends in bytes [start, end) of `fh` (moves its position).

    Read into one reused buffer: a fresh 8 MB bytes object per block is a fresh mapping whose pages fault on first
    touch (2026-11-22, 144 MB: 0.077 s this way against 0.086-0.152 s)."""
    fh.seek(start)
    buf = bytearray(min(max(end - start, 0), 8 << 20))
    view = memoryview(buf)
    lines, left = 0, end - start
    while left > 0:
        got = fh.readinto(view[:min(left, len(buf))])
        if not got:
            break
        lines += buf.count(b"\n", 0, got)
        left -= got
    return lines


_SLOT = struct.Struct("qqqq")  # next unclaimed byte, end of the share, a line start at or before next, its line number
_CLAIMED_AT = 128  # offset of each process's time of its last claim (CLOCK_MONOTONIC ns, the same clock in both)


def split(unclaimed: int, in_flight: int, since: float, rate: float | None, min_steal: int, min_take: int) -> int:
    """How many bytes at the back of the other process's unclaimed `unclaimed` to take over; 0 for none.

    Why not always half: the other is also checking the chunk it last claimed (`in_flight` bytes, claimed `since`
    seconds ago), which no one can take from it. Four runs of 1 M rows ended 0.04-0.16 s apart with halves (2026-11-22),
    and up to a whole chunk (~0.5 s) where less than STEAL_MIN_BYTES was left. With this process's own speed `rate`
    (bytes a second, None before its first chunk), the piece is sized so that both end together: the taker's cost of
    taking (TAKE_COST_S) plus its piece equals what the other has left of its chunk plus the rest of its share."""
    if rate is None or rate <= 0:
        return unclaimed // 2 if unclaimed >= min_steal else 0
    left_in_flight = max(0.0, in_flight - rate * since)
    take = int((left_in_flight + unclaimed - TAKE_COST_S * rate) / 2)
    take = min(unclaimed - 1, take)  # the other keeps a line: a share is never cut to nothing
    return take if take >= min_take else 0


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
        chosen = os.environ.get("CHECKER_STEAL_MIN_BYTES")  # tests take over tiny pieces; it sets both minimums
        self.min_steal = max(2, int(chosen or STEAL_MIN_BYTES))
        self.min_take = max(2, int(chosen or TAKE_MIN_BYTES))
        self.checked = [0, 0.0]  # bytes this process has checked, and the seconds they took (note)
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

    def note(self, size: int, seconds: float) -> None:
        """This process checked `size` bytes in `seconds`: its speed, which `take_over` sizes pieces by."""
        self.checked[0] += size
        self.checked[1] += seconds

    def rate(self) -> float | None:
        return self.checked[0] / self.checked[1] if self.checked[1] > 0 else None

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
            struct.pack_into("q", self.page, _CLAIMED_AT + 8 * me, time.monotonic_ns())
        return (block, size, nxt) if size else None

    def take_over(self, me: int, fh: Any, gone: Callable[[], bool] | None = None) -> tuple[int, int] | None:
        """Take over the back part of the other process's share (sized by `split`) as `me`'s new share: (its start,
        the line number there), or None when too little is left, or the other process is `gone` before it could say
        where its lines start."""
        other = 1 - me
        if gone is not None and gone():  # ended (then its share is done) or died (then Half.result settles it)
            return None
        patience = time.monotonic() + 5.0
        while True:
            with self._locked():
                nxt, end, base, base_line = self._get(other)
                since = (time.monotonic_ns() - struct.unpack_from("q", self.page, _CLAIMED_AT + 8 * other)[0]) / 1e9
                take = split(end - nxt, nxt - base, since, self.rate(), self.min_steal, self.min_take)
                if not take:
                    return None
                if base_line >= 0:
                    fh.seek(end - take - 1)
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
    chunks: list[tuple[int, int, int]] = field(default_factory=list)  # (offset, first line's number, bytes) a chunk
    seen_ids: dict[str, int] | None = None  # and the row-wise reader's (Normaliser.seen_ids)
    unknown: dict[str, int] | None = None  # Normaliser.unknown when it was done (to undo later ranges, see run)


def work(shares: Shares, me: int, state: Any, fh: Any, start: int, line: int, folder: str, segments: list[Segment],
         each: Callable[[], None] | None = None, gone: Callable[[], bool] | None = None, spool: str | None = None) -> None:
    """Check `me`'s share with `state` (a columnar._Run, whose `out` takes the first range and spools into folder
    `spool`, None for the report's own records), then take over parts of the other's share as long as there are; every
    range checked is appended to `segments` as it starts, its records spooled under `folder`. `gone`: whether the other
    process has ended (Shares.take_over)."""
    from .run import ReportBuilder

    seg = Segment(start, line, state.out, spool)
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
        seg.chunks.append((at, line, size))
        began = time.monotonic()
        line += state.chunk(block, line, size)
        shares.note(size, time.monotonic() - began)
        del block, piece  # released before the next read (see columnar._chunks)
        pos = at + size
        if each is not None:
            each()


def _repeats(state: Any) -> Any:
    """The rows of the range `state` has just checked that repeat an id of the range, as one table."""
    pl = state.pl
    parts = [t for t in state.repeats if t.height]
    return pl.concat(parts) if parts else pl.DataFrame(schema={"__row": pl.Int64, "__sid": pl.String})
