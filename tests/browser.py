"""Headless Chromium for the browser tests: one place for the flags this machine's closed network needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is needed for the browser test: `apt-get install chromium` (.ci/run does this).")


def run(uri: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, uri], capture_output=True, text=True, timeout=180)


def dump_dom(uri: str, profile: Path, *extra: str) -> str:
    """The DOM after the page's scripts ran."""
    done = run(uri, profile, *extra, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
