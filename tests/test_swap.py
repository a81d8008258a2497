"""checker/swap.py: the report takes the old one's place in one step, by name exchange where Linux offers it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from checker import swap


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.iterdir()}


def test_replace_over_an_old_report_leaves_only_the_new_one(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("old")
    (tmp_path / ".report.json.x.tmp").write_text("new")
    old_inode = os.stat(tmp_path / "report.json").st_ino
    swap.replace(tmp_path / ".report.json.x.tmp", tmp_path / "report.json")
    assert _files(tmp_path) == {"report.json": "new"}
    assert os.stat(tmp_path / "report.json").st_ino != old_inode


def test_replace_without_an_old_report(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("new")
    swap.replace(str(tmp_path / "t"), str(tmp_path / "report.json"))
    assert _files(tmp_path) == {"report.json": "new"}


def test_exchange_swaps_both_names_where_linux_can(tmp_path: Path) -> None:
    """On Linux with glibc (CI, the bench machine) the fast path is really taken, not silently the fallback."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("A")
    b.write_text("B")
    done = swap.exchange(a, b)
    if sys.platform.startswith("linux") and swap._renameat2() is not None:
        assert done is True
        assert _files(tmp_path) == {"a": "B", "b": "A"}
    else:
        assert done is False
        assert _files(tmp_path) == {"a": "A", "b": "B"}


def test_exchange_with_a_missing_name_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("A")
    assert swap.exchange(tmp_path / "a", tmp_path / "missing") is False
    assert _files(tmp_path) == {"a": "A"}


def test_a_refused_exchange_is_an_error_that_names_the_file(tmp_path: Path) -> None:
    """A failure that is not "cannot exchange here" (a name too long) is raised, not taken for the fallback."""
    (tmp_path / "a").write_text("A")
    if swap._renameat2() is None:
        return  # nothing to refuse: the fallback is the only path on this platform
    long = tmp_path / ("x" * 300)
    try:
        swap.exchange(tmp_path / "a", long)
    except OSError as exc:
        assert exc.filename == str(long)
    else:
        raise AssertionError("an exchange with a 300-character name should fail")
    assert _files(tmp_path) == {"a": "A"}
