"""Large files freed by a helper process, so that the freeing is off the end of a large run.

Why: at the end of a million-row run this process removes the old report it replaced (268 MB) and closes its spools
(the findings alone are two files of ~120 MB). ext4 frees a file's blocks in the call that drops the file's last
reference: 25-80 ms for the old report, ~9 ms a spool (2026-11-22, strace), serial work at a moment when the other
core is idle. The helper (checker/halves.py's line counter, started before Polars is loaded and idle once it has
counted) takes a reference of its own to each such file, the descriptor passed over a Unix socket, and drops it only
after this process has dropped its own, so the kernel frees the blocks in the helper, on the other core.

Nothing is lost or left behind: a file's name is removed here at once, and its blocks are freed when the helper closes
it, or when the helper ends, even if it is killed. The helper ends when this process closes its end of the socket
(finish(), or this process's exit). Without a helper every call here closes and unlinks as usual.
"""

from __future__ import annotations

import os
import socket
from typing import IO, Any

_sock: socket.socket | None = None  # this process's end of the helper's socket, while there is a helper
_FILE, _FREE = b"f", b"x"


def pair() -> tuple[socket.socket, socket.socket]:
    """A connected pair: the first end for this process (attach), the second for the helper (serve)."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def attach(sock: socket.socket) -> None:
    """Hand files to the helper at the other end of `sock` from now on."""
    global _sock
    finish()
    _sock = sock


def finish() -> None:
    """Close this process's end of the socket: the helper frees what it still holds and ends. In a forked process the
    end is a copy of its parent's, and closing it tells the helper nothing."""
    global _sock
    if _sock is not None:
        _sock.close()
        _sock = None


def serve(sock: socket.socket) -> None:
    """The helper's loop: hold each file it is sent until told to free, then close it; return when the other end is
    closed (everything held is closed first)."""
    held: list[int] = []
    try:
        while True:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 16)
            held += fds
            if not msg:  # the other end is closed
                break
            if msg == _FREE:
                _close_all(held)
    except OSError:
        pass
    _close_all(held)
    sock.close()


def _close_all(fds: list[int]) -> None:
    while fds:
        try:
            os.close(fds.pop())
        except OSError:
            pass


def _send(fd: int) -> bool:
    """Give the helper its own reference to `fd`; False (and no helper from now on) if it is gone."""
    if _sock is None:
        return False
    try:
        socket.send_fds(_sock, [_FILE], [fd])
        return True
    except OSError:
        finish()
        return False


def _free() -> None:
    """Tell the helper this process has dropped its references: what it holds is now the last one."""
    if _sock is not None:
        try:
            _sock.send(_FREE)
        except OSError:
            finish()


def close(fh: IO[Any]) -> None:
    """Close file object `fh` (with a real descriptor), its blocks freed by the helper if it is the last reference."""
    try:
        fd = fh.fileno() if _sock is not None else -1
    except (OSError, ValueError):
        fd = -1
    sent = fd >= 0 and _send(fd)
    fh.close()
    if sent:
        _free()


def unlink(path: str | os.PathLike[str]) -> None:
    """Remove the file at `path` at once; its blocks are freed by the helper (OSError as os.unlink raises it)."""
    if _sock is None:
        os.unlink(path)
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        os.unlink(path)  # cannot be opened (a FIFO, no permission): removed here, as without a helper
        return
    try:
        sent = _send(fd)
        os.unlink(path)
    finally:
        os.close(fd)
    if sent:
        _free()
