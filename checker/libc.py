"""The C library's functions the checker calls through ctypes: renameat2 (checker/swap.py), fallocate
(checker/recordlog.py) and mallopt (checker/allocators.py).

Why one place: each is looked up once, with its C signature set, and each caller has a single "not here" answer
(None) to fall back on, whatever the platform lacks (not Linux, an older or another C library, Windows).
"""

from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def function(name: str, argtypes: tuple[Any, ...], restype: Any = ctypes.c_int) -> Any:
    """The C library's `name` with its argument and result types set (errno kept for ctypes.get_errno), or None
    where the C library or the function is missing."""
    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None
    fn.argtypes = list(argtypes)
    fn.restype = restype
    return fn
