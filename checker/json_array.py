"""A large JSON manifest (one array of records) rewritten as JSON Lines, so the columnar run checks it in chunks.

Why: the whole-document reader holds every record as a dict and then checks them one by one (2026-11-23: 100 k
records in 31.5 s at 517 MB; millions would need gigabytes and most of an hour). A carrier's API often hands out
exactly such an array. Rewritten, it is read like a JSON Lines file: in chunks, by two processes, at bounded memory.

The rewrite changes single bytes only, and only where the change cannot change what the document means:
- the opening `[` (or `{"shipments": [`, the one-key wrapper the whole-document reader also takes) and the closing
  `]` (or `]}`) are left out, with the white space around them;
- a line break (CR or LF) becomes a tab: between tokens both are white space; inside a string both are a raw control
  character, which json and orjson refuse, so a line holding one is broken either way;
- the comma of every `}` white-space `,` white-space `{` becomes a line break.

Exact by construction: the file's lines joined back by commas, inside the brackets, are the document with some white
space changed. So when every line is a JSON value, the document is valid JSON and its records are the lines' values,
in order: line i is record i, which the whole-document reader numbers row i. Where a cut fell inside a string, or
inside a record that holds a list of objects, or where the document is broken, some line is no JSON value; the
columnar run is then told to give up (its `strict` mode), and the whole-document reader reads the original file and
says what it says of it (its error and position, or its records). Anything else unusual (another encoding, another
wrapper, an empty array) is left to the whole-document reader from the start.
"""

from __future__ import annotations

import codecs
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from . import allocators, disposal
from .recordlog import Pieces
from .manifest import Dialect, utf16_without_bom

SUFFIXES = (".json",)
BLOCK_BYTES = 8 << 20
_WS = b" \t\n\r"  # JSON's white space (json.loads skips these four only)
_HEAD = re.compile(rb'[ \t\n\r]*(\[|\{[ \t\n\r]*"shipments"[ \t\n\r]*:[ \t\n\r]*\[)')
# The comma between two records. Line breaks are tabs by the time it is searched for.
_GLUE = re.compile(rb"\}[ \t]*(,)[ \t]*\{")


class Rewritten:
    """The JSON Lines file a JSON array became, and the dialect the whole-document reader would report for the
    original (format json, its encoding): the report describes the file the user gave."""

    def __init__(self, path: str, encoding: str) -> None:  # noqa: D107
        self.path = path
        self.dialect = Dialect("json", encoding).to_dict()


def _body(fh: BinaryIO, size: int) -> tuple[int, int, str] | None:
    """(start, end, encoding label) of the records' bytes between the brackets; None when the file is no array (or
    one-key wrapped array) the rewrite takes."""
    head = fh.read(65536)
    skip, label = (3, "utf-8 (with BOM)") if head.startswith(codecs.BOM_UTF8) else (0, "utf-8")
    if not skip and utf16_without_bom(head):
        return None  # the whole-document reader decodes it as UTF-16 (manifest._detect_encoding)
    m = _HEAD.match(head, skip)
    if m is None:
        return None
    base = max(0, size - 65536)
    fh.seek(base)
    tail = fh.read().rstrip(_WS)
    if m.group(1).startswith(b"{"):
        if not tail.endswith(b"}"):
            return None
        tail = tail[:-1].rstrip(_WS)
    if not tail.endswith(b"]"):
        return None
    start, end = m.end(), base + len(tail) - 1
    return (start, end, label) if start < end else None


def _lines(fh: BinaryIO, start: int, end: int, out: Pieces) -> None:
    """Write the bytes of `fh` from `start` to `end` to `out` as the rewrite changes them (see the module's docstring).

    Block by block; a block is cut before its last `}`, so a record's closing brace and the comma after it are always
    in the same block (no other `}` can stand between them). Written in pieces of at most 1 MB, and with the freed
    blocks kept for the next (allocators.keep_freed_memory): on this VM fresh pages are dear, and the 937 MB of the
    bench's 1 M-record document took 1.5-2.4 s to write in 8 MB writes, 0.25-0.5 s in 1 MB ones (2026-11-23)."""
    fh.seek(start)
    left, carry = end - start, b""
    while True:
        block = fh.read(min(BLOCK_BYTES, left))
        left -= len(block)
        data = bytearray(carry + block)
        if left > 0 and block:
            cut = data.rfind(b"}")
            if cut < 0:
                carry = bytes(data)
                continue
            carry = bytes(data[cut:])
            del data[cut:]
        else:
            carry = b""
        data = data.replace(b"\n", b"\t")
        if b"\r" in data:
            data = data.replace(b"\r", b"\t")
        for m in _GLUE.finditer(data):
            data[m.start(1)] = 10  # the comma becomes a line break
        out.write(data)
        if left <= 0 or not block:
            break
    out.write(b"\n")  # the last line's end (the last block kept no carry)


def applicable(path: str) -> bool:
    """Whether `path` is named as a JSON document (the suffix the whole-document reader reads as JSON)."""
    return Path(path).suffix.lower() in SUFFIXES


@contextmanager
def rewritten(path: str) -> Iterator[Rewritten | None]:
    """The JSON array at `path` as a JSON Lines file in the temporary folder, removed on leaving; None when the file
    is not one the rewrite takes (the whole-document reader reads it, and gives the one-sentence error of a file it
    cannot read)."""
    tmp: str | None = None
    try:
        made: Rewritten | None = None
        try:
            with open(path, "rb") as fh:
                found = _body(fh, os.fstat(fh.fileno()).st_size)
                if found is not None:
                    fd, tmp = tempfile.mkstemp(prefix="checker-json-", suffix=".jsonl")
                    try:
                        allocators.keep_freed_memory()
                        _lines(fh, found[0], found[1], Pieces(fd))
                    finally:
                        os.close(fd)
                    made = Rewritten(tmp, found[2])
        except OSError:
            made = None  # unreadable, or no room for the copy
        yield made
    finally:
        if tmp is not None:
            try:
                disposal.unlink(tmp)
            except OSError:
                pass
