"""Put a finished report in place of the old one, atomically, without the wait ext4 adds to a plain rename.

Why not only `os.replace`: on ext4 (the default `auto_da_alloc` mount option) a rename *over an existing file* makes
the kernel allocate and start writing back every delayed block of the new file inside the rename call, so the caller
waits for the whole report to be queued for the disk: 130-160 ms for a 268 MB report on this project's VM, on the
critical path of every large run that overwrites its previous report (2026-11-22, `bench/RESULTS.md`). Exchanging the
two names (`renameat2(RENAME_EXCHANGE)`) is just as atomic for a reader, who sees the old report or the new one and
never neither, and leaves the new file's pages to the kernel's usual writeback; the old report, now under the
temporary name, is then removed. Neither path makes the report durable across a power cut (that would take an fsync
of the whole report, seconds for a large one), so nothing is given up that the plain rename guaranteed.

Where the call is missing (not Linux, an old C library) or refused (a file system without exchange, no old report),
`os.replace` does the job as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from typing import Any

from . import disposal, libc

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2() -> Any:
    """The C library's renameat2, or None (glibc < 2.28, musl without it, macOS, Windows)."""
    return libc.function("renameat2", (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint))


def exchange(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Swap the files named `a` and `b` in one atomic step; False (and nothing changed) where that cannot be done."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOENT, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV, errno.EPERM, errno.EACCES):
        return False  # no old file, or the call or the file system cannot: os.replace decides (and reports a real error)
    raise OSError(err, os.strerror(err), os.fspath(b))


def replace(new: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Move file `new` to `path`, replacing what is there; `new`'s name is gone afterwards either way."""
    if os.path.isfile(path) and exchange(new, path):
        with contextlib.suppress(OSError):  # the new report is in place; a stray old one must not undo that
            disposal.unlink(new)  # the old report, now under the temporary name, freed off the critical path
        return
    os.replace(new, path)
