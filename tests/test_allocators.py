"""checker/allocators.py: after keep_freed_memory, a large buffer freed and allocated again reuses its pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from checker.paths import ROOT

_FAULTS = """
import json, resource, sys
from checker import allocators
took = allocators.keep_freed_memory() if sys.argv[1] == "tuned" else None
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = b"x" * (40 << 20)  # over glibc's largest adaptive mmap threshold (32 MiB)
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"took": took, "faults": faults}))
"""


def _run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_freed_40_mb_buffer_is_reused_without_page_faults() -> None:
    """Untuned, glibc maps every 40 MB block afresh (~10 k faults each); tuned, the later blocks reuse the first's
    pages. Where glibc is not the C library, keep_freed_memory says it changed nothing."""
    tuned = _run("tuned")
    if not tuned["took"]:
        assert sys.platform != "linux" or os.path.exists("/lib/ld-musl-x86_64.so.1")  # only where glibc is absent
        return
    plain = _run("plain")
    assert min(plain["faults"][1:]) > 5000  # 40 MB = 10,240 pages, faulted again every time
    assert max(tuned["faults"][1:]) < 500


def test_jemalloc_setting_of_the_user_wins(monkeypatch) -> None:
    from checker import allocators

    monkeypatch.setenv("_RJEM_MALLOC_CONF", "narenas:1")
    allocators.keep_freed_memory()
    assert os.environ["_RJEM_MALLOC_CONF"] == "narenas:1"
    monkeypatch.delenv("_RJEM_MALLOC_CONF")
    allocators.keep_freed_memory()
    assert os.environ["_RJEM_MALLOC_CONF"] == "background_thread:false,dirty_decay_ms:-1,muzzy_decay_ms:-1"


_THREADS = """
import os
from checker import allocators
allocators.keep_freed_memory()
import polars as pl
for _ in range(10):
    pl.DataFrame({"a": [str(i) for i in range(100_000)]}).with_columns(pl.col("a").str.len_bytes().alias("n"))
print(",".join(sorted({open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")})))
"""


def test_polars_jemalloc_starts_no_background_threads() -> None:
    """With decay off they have nothing to purge, but each wake-up preempted a busy thread (checker/allocators.py).
    Polars' jemalloc names them jemalloc_bg_thd; Linux lists a process's threads under /proc/self/task."""
    if not os.path.isdir("/proc/self/task"):
        return  # no /proc: nothing to look at, and the setting is the environment variable tested above
    done = subprocess.run([sys.executable, "-c", _THREADS], capture_output=True, text=True, cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"})
    assert done.returncode == 0, done.stderr
    names = done.stdout.strip().split(",")
    assert "python" in names or any(n.startswith("polars") for n in names)  # the listing itself worked
    assert "jemalloc_bg_thd" not in names


def test_frozen_heap_hides_the_objects_of_before_from_the_collector_and_gives_them_back() -> None:
    import gc

    from checker import allocators

    before = gc.get_freeze_count()
    assert before == 0  # pytest froze nothing
    keep = [[] for _ in range(1000)]  # tracked containers that exist before the block
    with allocators.frozen_heap():
        assert gc.get_freeze_count() >= before + 1000
        made = [[] for _ in range(10)]
        assert gc.is_tracked(made[0])
    assert gc.get_freeze_count() == before
    assert len(keep) == 1000
