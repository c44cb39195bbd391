"""Signals during cleanup: after the first Ctrl-C / SIGTERM, a process finishes its cleanup.

The first interrupt unwinds the search (runs end KILLED, trials FAILED, workers stopped). A
second one arriving meanwhile (the driver stops its workers with SIGTERM; a terminal sends
Ctrl-C to every process of the group) would cut that cleanup short and leave runs RUNNING, so
cleanup ignores further interrupts. Worker processes exit right after it.
"""

from __future__ import annotations

import signal
import threading


def ignore_further_interrupts() -> None:
    """Ignore SIGINT and SIGTERM from now on (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
