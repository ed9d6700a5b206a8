"""Process-wide settings for processes that track: the command line and its nodes use them.

A tracker allocates and frees the same few megabytes of temporaries every scan (stacks of 7x7
covariances per track and model). glibc's allocator returns freed memory at the top of the heap
to the operating system as soon as more than its trim threshold is free, so every scan pays again
for fresh pages (page faults, and with transparent huge pages, zeroing 2 MiB pages). Keeping a
pad of freed memory in the process avoids that; ``benchmarks/vs_stonesoup.py`` measures it
(about 17 % less CPU per scan at 1000 targets on a 2-core machine, none at 100).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TOP_PAD = -2  # mallopt parameter of glibc's malloc.h


def keep_freed_memory(pad_bytes: int = 64 << 20) -> bool:
    """Let the C allocator keep up to ``pad_bytes`` of freed heap instead of returning it.

    Parameters
    ----------
    pad_bytes : int
        Freed memory kept at the top of the heap, bytes (64 MiB by default).

    Returns
    -------
    bool
        True when the setting was applied (Linux with glibc); False elsewhere, where nothing
        changes.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TOP_PAD, int(pad_bytes)))
