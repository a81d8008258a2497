"""The passing shipments JUnit lists (checker/passed_rows.py): the pairs a list of tuples in row order would give."""

from __future__ import annotations

import pickle
import tracemalloc

import pytest

from checker import passed_rows
from checker.passed_rows import PassedRows

IDS = ["S-1", "", "Zażółć", "a\x00b", "\U0001f4e6 box", "x" * 300]


def test_pairs_come_back_in_row_order_with_their_ids_exactly() -> None:
    got = PassedRows()
    got.append(IDS[0], 7)  # row-wise rows of a chunk are counted before its columnar rows
    got.append(IDS[1], 2)
    got.extend(IDS[2:], [1, 9, 4, 12])
    got.seal()
    assert list(got) == sorted(zip(IDS, [7, 2, 1, 9, 4, 12]), key=lambda p: p[1])
    assert len(got) == 6


def test_batches_that_overlap_are_merged_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch sealed because it grew long (not at a chunk's end) may overlap the next one."""
    monkeypatch.setattr(passed_rows, "_BATCH", 3)
    got = PassedRows()
    rows = [5, 1, 3, 2, 8, 4, 7, 6, 9, 10]
    for row in rows:
        got.append(f"S{row}", row)
    assert len(got._batches) == 3  # sealed at 3, 6 and 9 shipments; the tenth still pending
    assert list(got) == [(f"S{r}", r) for r in sorted(rows)]


def test_a_later_range_is_added_without_the_rows_checked_again() -> None:
    first, later = PassedRows(), PassedRows()
    first.extend(["A", "B"], [1, 2])
    later.extend(["C", "D", "E"], [3, 4, 5])
    later.seal()
    later.append("F", 6)  # not sealed yet: add() seals it
    first.add(later, {4})
    assert list(first) == [("A", 1), ("B", 2), ("C", 3), ("E", 5), ("F", 6)]
    other = PassedRows()
    other.append("G", 7)
    first.add(other)
    assert list(first)[-1] == ("G", 7) and len(first) == 6


def test_pickled_it_is_the_same_and_held_it_is_small() -> None:
    got = PassedRows()
    got.extend(IDS, range(len(IDS)))
    got.append("late", 99)  # pending when pickled
    back = pickle.loads(pickle.dumps(got))
    assert list(back) == list(got) == [*zip(IDS, range(len(IDS))), ("late", 99)]
    n = 200_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        many = PassedRows()
        many.extend((f"S{i:08d}" for i in range(n)), range(2, n + 2))
        many.seal()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # A 9-character id: 9 bytes of text, 8 for where it ends, 8 for its row; as a tuple in a list, ~150.
    assert held < 30 * n
    assert list(many)[-1] == (f"S{n - 1:08d}", n + 1)


def test_nothing_passed_gives_nothing() -> None:
    got = PassedRows()
    got.seal()
    assert list(got) == [] and len(got) == 0
    got.add(PassedRows(), {1})
    assert list(pickle.loads(pickle.dumps(got))) == []
