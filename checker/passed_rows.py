"""The shipments without findings, which the JUnit report lists as passing testcases, kept in compact columns.

Why not a list of (shipment id, row) tuples: at 10 M rows such a list held ~9.3 M tuples, ~1.4 GB, and was pickled
from the second process whole (2026-11-23: the 10 M-row JUnit run peaked at 2.6 GB, the JSON run at 1.4 GB). Here a
batch is three flat values: the rows (an array of 64-bit integers), the ids joined into one string, and where each id
ends in it: ~25 bytes a shipment with a 9-character id, pickled as three byte strings.

Rows arrive in row order per source but not across sources: within a chunk of the columnar path the rows the
row-wise engine took are counted before the chunk's columnar rows. `seal` sorts what arrived since the last seal into
one batch (the columnar path seals at the end of every chunk), and iteration merges batches only where they overlap.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from typing import Iterable, Iterator

_BATCH = 65_536  # pending shipments sealed into a batch without being asked (a long row-wise run)


class PassedRows:
    """(shipment id, row) pairs in row order, as `list` of tuples would give them, in a fraction of the memory."""

    def __init__(self) -> None:
        self._batches: list[tuple[array, array, str]] = []  # (rows, id ends, ids joined), each sorted by row
        self._sids: list[str] = []
        self._rows: list[int] = []

    def append(self, sid: str, row: int) -> None:
        self._sids.append(sid)
        self._rows.append(row)
        if len(self._rows) >= _BATCH:
            self.seal()

    def extend(self, sids: Iterable[str], rows: Iterable[int]) -> None:
        self._sids.extend(sids)
        self._rows.extend(rows)
        if len(self._rows) >= _BATCH:
            self.seal()

    def seal(self) -> None:
        """Pack what arrived since the last seal into one batch in row order."""
        sids, rows = self._sids, self._rows
        if not rows:
            return
        if any(a > b for a, b in zip(rows, itertools.islice(rows, 1, None))):
            order = sorted(range(len(rows)), key=rows.__getitem__)
            sids, rows = [sids[i] for i in order], [rows[i] for i in order]
        self._batches.append((array("q", rows), array("q", itertools.accumulate(map(len, sids))), "".join(sids)))
        self._sids, self._rows = [], []

    def add(self, other: PassedRows, drop: set[int] | frozenset[int] = frozenset()) -> None:
        """Take `other`'s shipments (a later range of the file), leaving out the rows in `drop`."""
        self.seal()
        other.seal()
        for batch in other._batches:
            if drop and any(r in drop for r in batch[0]):
                kept = [(sid, row) for sid, row in _pairs(batch) if row not in drop]
                self.extend([sid for sid, _ in kept], [row for _, row in kept])
                self.seal()
            else:
                self._batches.append(batch)

    def __len__(self) -> int:
        return len(self._rows) + sum(len(b[0]) for b in self._batches)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        self.seal()
        batches = self._batches
        if all(a[0][-1] < b[0][0] for a, b in zip(batches, batches[1:])):
            for batch in batches:
                yield from _pairs(batch)
        else:
            yield from heapq.merge(*(_pairs(b) for b in batches), key=lambda p: p[1])

    def __getstate__(self) -> list[tuple[array, array, str]]:
        self.seal()
        return self._batches

    def __setstate__(self, state: list[tuple[array, array, str]]) -> None:
        self._batches, self._sids, self._rows = state, [], []


def _pairs(batch: tuple[array, array, str]) -> Iterator[tuple[str, int]]:
    rows, ends, text = batch
    start = 0
    for row, end in zip(rows, ends):
        yield text[start:end], row
        start = end
