"""Memory allocator settings for a large columnar run, which allocates and frees chunk-sized buffers again and again.

Why: freed memory handed back to the kernel comes back as fresh pages, and on this project's VM every first touch of
a page is a fault costing microseconds (a 1 M-row run touches ~0.9 GB). Both allocators of the process are told to
keep what they freed for the next chunk:

- Polars' jemalloc returns freed pages after 10 s by default: 1 M rows took 673 k page faults and 3 s of system time,
  360 k and 2 s with decay off (2026-11-21). Read from the environment when Polars is first loaded.
- glibc's malloc (Python's bytes and strings: the 32 MB block read, the joined finding lines) gives every block over
  its mmap threshold its own fresh mapping, and that threshold adapts only up to 32 MiB; freed memory at the top of
  the heap is returned past 128 kB. With the threshold at 128 MiB and returns past 256 MiB, 1 M rows (six alternating
  pairs, 2026-11-22): page faults 232 k -> 207 k, CPU 7.22 -> 6.51 s, wall 3.91 -> 3.62 s (medians).

With decay off, jemalloc's background threads have nothing to purge, yet they woke ~15 k times in a 1 M-row run
(in the process that started them: a forked child has none) and each wake-up preempted a busy thread of the run:
the parent's main thread was preempted 8.9 k times and its Polars executor 6.3 k times, the child's 0.5 k and
0.3 k. Without them (`background_thread:false`), 346 and 152; eight alternating pairs, system time 1.03 -> 0.92 s,
CPU 6.67 -> 6.51 s (medians, 2026-11-22).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
from typing import Iterator

from . import libc

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 128 << 20
TRIM_THRESHOLD = 256 << 20
JEMALLOC_CONF = "background_thread:false,dirty_decay_ms:-1,muzzy_decay_ms:-1"


def keep_freed_memory() -> bool:
    """Set both allocators for a large run (before Polars is imported, and before a fork so both processes have it);
    whether glibc took its settings (False elsewhere: musl and macOS keep theirs). A jemalloc setting the user chose
    wins."""
    os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
    mallopt = libc.function("mallopt", (ctypes.c_int, ctypes.c_int))
    if mallopt is None:
        return False
    # mallopt answers 1 where it took the value; musl's is a stub that answers 0.
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Python's cycle collector ignores the objects that exist now (the policies, the engine, the modules) while the
    block runs, and takes them back after.

    Why: a large run allocates many short-lived objects, and each older-generation collection walks that whole
    heap again though none of it becomes garbage; in a forked child the walk also writes into pages shared with the
    parent, which the kernel must then copy. One process on 600 k rows (2026-11-22): 15 + 1 older collections
    took 28-37 ms, 14 + 0 of the young objects only 12-13 ms. `gc.freeze` is what the Python documentation advises
    before a fork, for the second reason. A heap a caller froze itself stays frozen."""
    theirs = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not theirs:
            gc.unfreeze()
