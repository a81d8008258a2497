"""An append-only list of report records (findings, shipments) kept as JSON lines in a spooled temp file.

Why not a Python list: a day of parcels gives millions of findings, and a list of dicts
costs about a kilobyte each. Records are serialised once, when they are produced; the JSON
report copies the lines straight to its file, and renderers that need dicts read them back
one at a time. Small runs never touch the disk (the spool stays in memory up to 32 MB).
"""

from __future__ import annotations

import ctypes
import io
import itertools
import json
import os
import re
import stat
import tempfile
from typing import IO, Any, Iterable, Iterator

import orjson

from . import disposal, libc

SPOOL_BYTES = 32 << 20
_SEP = b",\n"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(m: re.Match[str]) -> str:
    """A lone surrogate's JSON escape: in a record line it can only stand inside a string (JSON's own marks are ASCII),
    where the escape means the same character; UTF-8 has no form for it."""
    return f"\\u{ord(m.group()):04x}"


# A run of digits that may be an integer beyond 64 bits, which orjson reads as a float.
_LONG_DIGITS = {str: re.compile("[0-9]{19}"), bytes: re.compile(b"[0-9]{19}")}


def loads(text: str | bytes) -> Any:
    """json.loads of a record line (or a run of its members), through orjson where it gives the same: 3-4x faster on
    a finding's short runs (2026-11-23); not for a long integer, nor for what orjson refuses and json reads (a lone
    surrogate's escape, NaN)."""
    if _LONG_DIGITS[type(text)].search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def dumps(record: Any) -> str:
    """The one JSON form of a record line: compact, UTF-8 kept, no raw newline (JSON escapes it).

    json.dumps with these options would build a new encoder at every call (~2 us, tens of thousands of calls per
    million rows); JSONEncoder.encode is what it then calls, and it writes a plain string without the encoder loop."""
    return _ENCODER.encode(record)


class RecordLog:
    """Behaves like a read-only list of dicts (len, iteration, index, slice, ==) over a spool of JSON lines."""

    def __init__(self, path: str | None = None, large: bool = False) -> None:
        """`path`: spool into this file (another process appends it with extend_from); else a spooled temp file, or
        with `large` (a run whose records will outgrow the memory part anyway) a temp file from the start: Polars
        writes a chunk's lines into a file faster than into memory (30 MB: 16 against 28 ms), and the move to disk
        at SPOOL_BYTES cost ~0.15 s once, on the critical path of a large run (2026-11-22)."""
        if path:
            self._fh: IO[bytes] = open(path, "w+b")
        elif large:
            self._fh = tempfile.TemporaryFile(mode="w+b")
        else:
            self._fh = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")
        self._count = 0
        self._tails: list[IO[bytes]] = []  # other processes' spools after this one's own (extend_from), open until close

    # ---- writing ----------------------------------------------------------------------------
    def append(self, record: dict[str, Any]) -> None:
        self.append_lines([dumps(record)])

    def append_lines(self, lines: Iterable[str]) -> None:
        """Records already serialised (one JSON object each, without newline)."""
        lines = list(lines)
        if lines:
            self._absorb_tails()
            self._fh.seek(0, 2)
            text = ",\n".join(lines)
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate, e.g. a JSON manifest's "\ud800": kept as its JSON escape
                data = _LONE_SURROGATE.sub(_escaped, text).encode("utf-8")
            self._fh.write(data + _SEP)
            self._count += len(lines)

    def append_lines_of(self, frame: Any, column: str | list[str]) -> None:
        """The serialised records in a Polars string column, written straight from Polars (no Python string); or in
        several columns, each a run of whole members of the record (`{"a":1`, `"b":2`, `"c":3}`), written joined by
        commas, so a record's long parts (a rule's clause and quotes) are written from where they are, not first
        copied into one text per record."""
        if frame.height:
            self._absorb_tails()
            self._fh.seek(0, 2)
            # JSON lines hold no raw newline, so "never quote" copies each line as it is; written into the spool
            # directly (through a BytesIO first cost one more copy of ~30 MB per chunk).
            into: Any = self._fh
            if self._on_disk():
                self._fh.flush()
                into = Pieces(self._fh.fileno())
            frame.select(column).write_csv(into, include_header=False, quote_style="never", separator=",", line_terminator=",\n")
            if into is not self._fh:
                self._fh.seek(0, 2)  # the buffered file object learns where the descriptor now is
            self._count += frame.height

    def extend_from(self, path: str, count: int) -> None:
        """Append the `count` records another RecordLog spooled into `path`, by reference: the file is opened here
        (so it may be removed from its folder now) and its bytes are copied only where the records go, into the report
        (2026-11-22, 1 M rows: the copy into this spool cost 0.06 s at the end of the run, when the other core is idle)."""
        self._tails.append(open(path, "rb"))
        self._count += count

    def _absorb_tails(self) -> None:
        """Copy the tails into this spool before anything is appended after them (records stay in order)."""
        tails, self._tails = self._tails, []
        for src in tails:
            with src:
                size = os.fstat(src.fileno()).st_size
                if size > SPOOL_BYTES and hasattr(self._fh, "rollover"):
                    self._fh.rollover()  # it will be on disk anyway: copy there directly
                self._fh.seek(0, 2)
                _copy_bytes(src, size, self._fh, self._on_disk())

    def flush(self) -> int:
        """Write buffered bytes through to the spool file; the number of records."""
        self._fh.flush()
        return self._count

    # ---- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def lines(self) -> Iterator[bytes]:
        for fh in (self._fh, *self._tails):
            fh.seek(0)
            for line in fh:
                yield line[:-2] if line.endswith(_SEP) else line.rstrip(b"\n")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for line in self.lines():
            yield loads(line)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            return list(itertools.islice(iter(self), start, stop, step))
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return next(itertools.islice(iter(self), index, None))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordLog):
            other = list(other)
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecordLog({self._count} records)"

    def write_json_array(self, out: IO[str], indent: str = "  ") -> None:
        """Write `[ ... ]` with one record per line, copying the spool in blocks (no parsing, no dicts)."""
        if not self._count:
            out.write("[]")
            return
        out.write("[\n")
        self._fh.seek(0, 2)
        parts = [(fh, size) for fh, size in [(self._fh, self._fh.tell()), *((t, os.fstat(t.fileno()).st_size) for t in self._tails)]
                 if size]
        raw = getattr(out, "buffer", None) if (getattr(out, "encoding", "") or "").lower().replace("-", "") == "utf8" else None
        if raw is not None:
            out.flush()  # the spool is UTF-8 already: its bytes go to the file under the text layer, not decoded and re-encoded
            _reserve(raw, sum(size for _, size in parts))
        for k, (fh, size) in enumerate(parts):
            # Each part ends with a separator; the last part's becomes the closing newline.
            _copy(fh, size - (len(_SEP) if k == len(parts) - 1 else 0), out, raw, fh is not self._fh or self._on_disk())
        out.write("\n" + indent[:-2] + "]" if len(indent) >= 2 else "\n]")

    def _on_disk(self) -> bool:
        """A spooled temp file that rolled over, or a named spool file: a real file descriptor to copy from."""
        return getattr(self._fh, "_rolled", True)

    def close(self) -> None:
        """Close the spool and the other processes' spools; large ones are freed by a helper (checker/disposal.py)."""
        if self._on_disk():
            disposal.close(self._fh)
        else:
            self._fh.close()  # in memory: asking for its descriptor would write it to disk first
        for t in self._tails:
            disposal.close(t)
        self._tails = []


# The most a write hands the kernel at once. Polars writes a chunk's lines ~9 MB at a time; on this VM a write that
# large into a file's fresh pages took ~20 ms, the same bytes in 1 MB writes ~3 ms (2026-11-22, 29 MB appended to a
# new file: 70-90 ms in one write, 9 ms in 1 MB writes; writing the 1 M-row manifest's findings into the spools cost
# 0.42 s over 21 such writes). The kernel then fills the file with small page-cache folios, as os.sendfile does.
PIECE_BYTES = 1 << 20


class Pieces:
    """A write-only file object over descriptor `fd` whose write() hands the kernel at most PIECE_BYTES at a time."""

    def __init__(self, fd: int) -> None:  # noqa: D107
        self.fd = fd

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:done + PIECE_BYTES])
        return done

    def flush(self) -> None:
        """Nothing is buffered here."""


def _copy(src: IO[bytes], count: int, out: IO[str], raw: Any, on_disk: bool) -> None:
    """Copy the first `count` bytes of spool `src` to `out`: into the file behind `raw` (its bytes layer), in the
    kernel when `src` is a real file (os.sendfile), else in blocks; into a text-only `out` decoded block by block."""
    if raw is not None:
        _copy_bytes(src, count, raw, on_disk)  # in memory, asking for its fileno would write it to disk first
        return
    src.seek(0)
    left = count
    while left > 0:
        block = src.read(min(left, 8 << 20))
        if not block:
            break
        cut = len(block) if len(block) == left else _boundary(block)
        if cut < len(block):  # a read split a multi-byte character: leave its bytes for the next block
            src.seek(cut - len(block), 1)
            block = block[:cut]
        left -= len(block)
        out.write(block.decode("utf-8"))


def _copy_bytes(src: IO[bytes], count: int, dst: Any, kernel: bool) -> None:
    """Copy the first `count` bytes of `src` to `dst`'s position: in the kernel (os.sendfile) when `kernel` (both are
    real files), the rest in blocks. Shared by a spool absorbing another process's (RecordLog._absorb_tails) and by
    the report's copy of a spool (_copy)."""
    done = 0
    if kernel:
        try:
            src.flush()
            dst.flush()
            done = _sendfile(dst.fileno(), src.fileno(), count)
            if done and dst.seekable():
                dst.seek(0, 2)  # the buffered file object learns where the kernel left the descriptor
        except (AttributeError, OSError, io.UnsupportedOperation):
            done = 0
    src.seek(done)
    left = count - done
    while left > 0:
        block = src.read(min(left, 8 << 20))
        if not block:
            break
        dst.write(block)
        left -= len(block)


_FALLOC_FL_KEEP_SIZE = 1


def _reserve(dst: Any, count: int) -> None:
    """Give the regular file under `dst` the disk blocks for the next `count` bytes now, its size unchanged (Linux
    fallocate, FALLOC_FL_KEEP_SIZE); anywhere else, or on a refusal, nothing.

    Why: a buffered write that extends a file reserves its blocks page by page as it goes (ext4's delayed
    allocation); reserved in one call first, a 264 MB copy into a new file took 64-71 ms against 79-99 ms (2026-11-22,
    four alternating pairs). The findings are most of a large report and are copied into it last, after both
    processes have ended, so this is time the whole run waits for."""
    if count < SPOOL_BYTES:
        return
    try:
        fd = dst.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a pipe or a terminal: nothing to reserve
            return
        fallocate = libc.function("fallocate", (ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong))
        if fallocate is None:
            return
        dst.flush()
        fallocate(fd, _FALLOC_FL_KEEP_SIZE, os.lseek(fd, 0, os.SEEK_CUR), count)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass


def _sendfile(dst: int, src: int, count: int, start: int = 0) -> int:
    """Copy `count` bytes of file `src` from offset `start` to `dst`'s position, in the kernel; the bytes copied (fewer
    when the platform or the file cannot: the caller copies the rest itself)."""
    done = 0
    try:
        while done < count:
            sent = os.sendfile(dst, src, start + done, count - done)
            if sent == 0:
                break
            done += sent
    except (AttributeError, OSError):
        pass
    return done


def _boundary(block: bytes) -> int:
    """The length of the longest prefix of `block` that ends on a UTF-8 character boundary."""
    i = len(block) - 1
    while i > 0 and 0x80 <= block[i] < 0xC0:
        i -= 1
    lead = block[i]
    need = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return len(block) if i + need <= len(block) else i


_ROW = re.compile(rb',"row":(\d+),')


def row_span(path: str, row: int) -> tuple[int, int, list[bytes]]:
    """Where the records of manifest row `row` are in spool file `path` (records in row order, as every spool of a
    run is): (start, end, their lines without separators). start == end, the place they would go, when it has none.
    A binary search over the file's bytes, so a patch of a few rows does not read a 100 MB spool."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size

        def line_from(pos: int) -> tuple[int, bytes]:
            """The first line starting at or after `pos`: (its start, its bytes with the newline; b"" at the end)."""
            fh.seek(max(0, pos - 1))
            if pos > 0:
                fh.readline()  # to the end of the line that holds pos - 1
            return fh.tell(), fh.readline()

        def row_of(line: bytes) -> int:
            m = _ROW.search(line)
            if m is None:
                raise ValueError(f"{path}: a record without a row number")
            return int(m.group(1))

        # lo: a line start with only earlier rows before it; the first line from hi on is of `row` or a later one.
        lo, hi = 0, size
        while hi - lo > 4096:
            mid = (lo + hi) // 2
            start, line = line_from(mid)
            if not line or row_of(line) >= row:
                hi = mid
            else:
                lo = start + len(line)
        fh.seek(lo)
        start, line = lo, fh.readline()
        while line and row_of(line) < row:  # the last few kB, line by line
            start += len(line)
            line = fh.readline()
        end, lines = start, []
        while line and row_of(line) == row:
            lines.append(line[:-len(_SEP)] if line.endswith(_SEP) else line.rstrip(b"\n"))
            end += len(line)
            line = fh.readline()
    return start, end, lines


def patched(path: str, patches: list[tuple[int, int, bytes]], into: str) -> None:
    """Write spool `path` to `into` with each (start, end, records) of `patches` (sorted, not overlapping) put in place
    of its bytes; `records` are whole lines with their separators."""
    with open(path, "rb") as src, open(into, "wb", buffering=0) as dst:  # unbuffered: sendfile moves its offset
        size = os.fstat(src.fileno()).st_size
        pos = 0
        for start, end, records in [*patches, (size, size, b"")]:
            pos += _sendfile(dst.fileno(), src.fileno(), start - pos, pos) if start > pos else 0
            src.seek(pos)
            while pos < start:  # what the kernel did not copy
                block = src.read(min(start - pos, 8 << 20))
                if not block:
                    raise ValueError(f"{path}: shorter than its records' places")
                dst.write(block)
                pos += len(block)
            dst.write(records)
            pos = end


def records(lines: list[str]) -> bytes:
    """Serialised records as a spool holds them (each followed by its separator)."""
    return b"".join(line.encode("utf-8") + _SEP for line in lines)
