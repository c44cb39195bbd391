"""Which process owns a trial or a run: a tag written when work starts, checked when it looks stale.

A tag is ``host:pid:start-time``; the start time (from ``/proc``) makes it safe against pid reuse
on Linux. A leaf module: the ledger (trials) and the tracking hygiene (MLflow runs) both use it.
"""

from __future__ import annotations

import os
import socket


def owner_tag() -> str:
    """Identifies the process running a trial: ``host:pid:start-time`` (pid reuse safe on Linux)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(tag: str) -> bool:
    """Whether the process named by :func:`owner_tag` still runs (other hosts: assumed alive)."""
    try:
        host, pid_text, started = tag.split(":")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _stat_field(pid, 0) in ("Z", "X"):  # a zombie (killed, not yet reaped) runs nothing
        return False
    return started == "?" or _start_time(pid) == started


def _start_time(pid: int) -> str:
    return _stat_field(pid, 19)


def _stat_field(pid: int, index: int) -> str:
    """Field ``index`` of ``/proc/PID/stat`` after the command name (``?`` when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[index]
    except (OSError, IndexError):
        return "?"
