"""Process-level tuning for training on CPUs.

glibc hands large freed blocks back to the kernel at once (``mmap`` above a dynamic threshold,
heap trimming above 128 KiB) and faults them in again at the next step: recurrent training
allocates and frees the same multi-megabyte activation buffers every step, so a third of its CPU
time went to the kernel. Keeping freed memory in the process removes that: a 2-layer LSTM
(hidden 64, batch 64, 64 steps) trains 1.5-1.6x faster on one thread (``bench/overhead.py`` and
BENCHMARKS.md), for about the same peak memory. Set ``AUTOML_RNN_TUNE_MALLOC=0`` to keep glibc's
defaults. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_done = False


def tune_allocator() -> bool:
    """Keep freed memory in the process (glibc only, once per process); True when applied."""
    global _done
    if _done or os.environ.get("AUTOML_RNN_TUNE_MALLOC", "1") == "0":
        return _done
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    applied = all(
        mallopt(option, value)
        for option, value in (
            (_M_MMAP_THRESHOLD, 1 << 30),
            (_M_TRIM_THRESHOLD, 1 << 30),
            (_M_TOP_PAD, 256 << 20),
        )
    )
    _done = applied
    return applied
