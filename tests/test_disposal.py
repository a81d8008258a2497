"""Large files handed to a helper process to free (checker/disposal.py): removed at once, freed by the helper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

import generated
from checker import disposal
from checker.paths import ROOT


def _eventually(name: str, count: int) -> int:
    """_open_deleted(name) once it is `count` (the helper thread receives and closes on its own time), or as it is
    after two seconds."""
    for _ in range(200):
        if _open_deleted(name) == count:
            break
        threading.Event().wait(0.01)
    return _open_deleted(name)


def _open_deleted(name: str) -> int:
    """How many descriptors of this process refer to a removed file called `name`."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        n += target.endswith(f"/{name} (deleted)")
    return n


@pytest.fixture
def helper() -> Iterator[threading.Thread]:
    """A helper serving in a thread of this process: its descriptors are this process's, so the test can see them."""
    mine, its = disposal.pair()
    thread = threading.Thread(target=disposal.serve, args=(its,), daemon=True)
    thread.start()
    disposal.attach(mine)
    yield thread
    disposal.finish()
    thread.join(5)
    assert not thread.is_alive()  # the helper ends when this end of the socket closes


def test_without_a_helper_files_are_closed_and_removed_here(tmp_path: Path) -> None:
    disposal.finish()
    path = tmp_path / "old.json"
    path.write_bytes(b"x" * 1000)
    disposal.unlink(path)
    assert not path.exists()
    fh = open(tmp_path / "spool", "w+b")
    disposal.close(fh)
    assert fh.closed
    with pytest.raises(FileNotFoundError):
        disposal.unlink(path)  # as os.unlink


def test_a_removed_file_is_held_by_the_helper_until_this_process_lets_go(tmp_path: Path, helper: threading.Thread,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old-report.json"
    path.write_bytes(b"x" * 100_000)
    held = []
    monkeypatch.setattr(disposal, "_free", lambda: held.append(_eventually(path.name, 1)))
    disposal.unlink(path)
    assert not path.exists()  # the name is gone at once
    assert held == [1]  # and the helper holds the only reference left, the one whose close frees the blocks
    monkeypatch.undo()
    assert _open_deleted(path.name) == 1  # held until told
    disposal._free()
    assert _eventually(path.name, 0) == 0


def test_a_closed_spool_is_freed_by_the_helper(tmp_path: Path, helper: threading.Thread) -> None:
    fh = open(tmp_path / "spool", "w+b")
    fh.write(b"y" * 100_000)
    os.unlink(tmp_path / "spool")  # a temp file's name is gone from the start
    disposal.close(fh)
    assert fh.closed
    assert _eventually("spool", 0) == 0


def test_a_helper_that_is_gone_leaves_this_process_to_free_as_usual(tmp_path: Path) -> None:
    mine, its = disposal.pair()
    its.close()
    disposal.attach(mine)
    path = tmp_path / "old.json"
    path.write_bytes(b"z")
    disposal.unlink(path)
    assert not path.exists()
    assert disposal._sock is None  # no helper from now on
    fh = open(tmp_path / "f", "w+b")
    disposal.close(fh)
    assert fh.closed


def test_a_split_run_over_an_old_report_leaves_only_the_new_one(tmp_path: Path) -> None:
    """The command line with the split (and so the helper): the old report is replaced, no temporary file is left, and
    the run's streams end with the run (the helper does not hold them)."""
    path = generated.manifest(tmp_path, 600, seed=3, violation_share=0.3)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "report.json"
    out.write_text("old", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "checker.cli", "check", str(path), "--policy", "inpost-international@2025-11-20",
                           "--engine", "columnar", "--format", "json", "--output", str(out), "--fail-on", "never", "--quiet",
                           "--verbose"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "CHECKER_SPLIT_MIN_BYTES": "1", "CHECKER_CHUNK_BYTES": "8192"})
    assert done.returncode == 0, done.stderr
    assert "in 2 processes" in done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["shipments"] == 600
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.json"]
