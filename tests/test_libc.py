"""checker/libc.py: C library functions looked up once, with None where they are missing."""

from __future__ import annotations

import ctypes
import sys

from checker import libc


def test_a_function_the_c_library_lacks_is_none() -> None:
    assert libc.function("no_such_function_in_any_libc", (ctypes.c_int,)) is None


def test_a_function_is_looked_up_once_with_its_signature() -> None:
    if not sys.platform.startswith("linux"):
        return  # the callers' fallbacks are tested with them (test_swap, test_recordlog)
    fn = libc.function("mallopt", (ctypes.c_int, ctypes.c_int))
    assert fn is not None
    assert fn.argtypes == [ctypes.c_int, ctypes.c_int] and fn.restype is ctypes.c_int
    assert libc.function("mallopt", (ctypes.c_int, ctypes.c_int)) is fn
