"""Signals during cleanup: after the first Ctrl-C / SIGTERM, a process finishes its cleanup.

The first interrupt unwinds the search (runs end KILLED, trials FAILED, workers stopped). A
second one arriving meanwhile (the driver stops its workers with SIGTERM; a terminal sends
Ctrl-C to every process of the group) would cut that cleanup short and leave runs RUNNING, so
cleanup ignores further interrupts. Worker processes exit right after it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


def ignore_further_interrupts() -> None:
    """Ignore SIGINT and SIGTERM from now on (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM back until the block ends, then deliver the first one that came.

    For steps that create something and record its id (a trial's MLflow run): an interrupt between
    the two would leave a run that nothing ends. A second Ctrl-C is delivered at once (a tracking
    server that stopped answering can hold the block for minutes); SIGTERMs, which come from
    programs (and the driver sends its workers one more), stay held. Python-level, so it also holds
    a signal that the kernel hands to another thread (``pthread_sigmask`` would not). Main thread
    only; elsewhere the block runs as is.
    """
    previous = interrupt_handlers()
    if threading.current_thread() is not threading.main_thread() or None in previous:
        yield  # None: a handler installed outside Python, which could not be put back
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and signal.SIGINT in caught:  # the user insists
            restore_interrupts(previous)
            caught.clear()
            signal.raise_signal(signum)
            return
        caught.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, hold)
    try:
        yield
    finally:
        restore_interrupts(previous)
        if caught:
            signal.raise_signal(caught[0])  # now handled as usual, right after the block


def interrupt_handlers() -> tuple[Any, Any]:
    """The current SIGINT and SIGTERM handlers (to restore after a cleanup)."""
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def restore_interrupts(handlers: tuple[Any, Any]) -> None:
    """Put back handlers from :func:`interrupt_handlers` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, handler in zip((signal.SIGINT, signal.SIGTERM), handlers, strict=True):
        if handler is not None:  # None: installed outside Python, cannot be set back
            signal.signal(signum, handler)
