"""Worker processes on this machine: started by fork, dying with their driver, joined.

Used by the Optuna backend: each worker runs the same in-process loop against the workspace's
shared storage. On Linux workers fork from the driver before it trains anything (no thread pool
has started yet), so a worker starts in milliseconds with the imports and the prepared data in
hand; elsewhere they are spawned (a fresh interpreter re-imports and re-prepares).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.process import BaseProcess

#: A worker's entry point: called with the worker's index in the new process.
WorkerMain = Callable[[int], None]


def start_workers(main: WorkerMain, indices: range) -> list[BaseProcess]:
    """Start one process per index running ``main(index)``; each dies with this process."""
    linux = sys.platform.startswith("linux")
    context = multiprocessing.get_context("fork") if linux else multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(target=_worker, args=(main, index)) for index in indices
    ]
    for process in processes:
        process.start()
    return processes


def _worker(main: WorkerMain, index: int) -> None:
    """Ctrl-C / SIGTERM end a worker quietly (its trial and run were closed by ``main``)."""
    _die_with_parent()
    try:
        main(index)
    except KeyboardInterrupt:
        sys.exit(130)


def _die_with_parent() -> None:
    """Ask Linux to send this worker SIGTERM when its driver dies (even by SIGKILL), so no worker
    trains on unattended; elsewhere a no-op (an orphan ends after its trial budget)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    driver = multiprocessing.parent_process()
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if driver is not None and os.getppid() != driver.pid:  # it died before the request held
        os._exit(143)  # nothing started yet: no trial, no run to clean up


def join_workers(processes: list[BaseProcess], stop: bool = False) -> list[int]:
    """Wait for the workers (or terminate them, on ``stop``); return their exit codes."""
    for process in processes:
        if stop and process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=60 if stop else None)
        if process.is_alive():  # stuck in cleanup: its runs are closed by the next command
            process.kill()
            process.join()
    return [p.exitcode or 0 for p in processes]


def report_dead(codes: list[int]) -> bool:
    """Warn about each worker that ended abnormally; whether any did."""
    for index, code in enumerate(codes, start=1):
        if code != 0:
            print(
                f"warning: worker {index} ended with exit code {code}; any trial it left "
                "running is failed and its parameters are run again",
                file=sys.stderr,
            )
    return any(codes)
