"""Peak memory of one trial: process RSS (peak reset at the trial's start on Linux) and GPU."""

from __future__ import annotations

import torch


class ResourceMeter:
    """Peak memory of one trial: process RSS (Linux: the peak is reset at the trial's start via
    ``/proc/self/clear_refs``, so it is this trial's, not the worker's lifetime peak) and, with
    CUDA, the peak allocated GPU memory."""

    def __init__(self) -> None:
        self.rss_reset = reset_peak_rss()
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()

    def peaks(self) -> dict[str, float]:
        """``peak_rss_mb`` (when this trial's peak is known) and ``peak_gpu_mb`` (with CUDA)."""
        found: dict[str, float] = {}
        rss = peak_rss_mb() if self.rss_reset else None  # else the worker's lifetime peak
        if rss is not None:
            found["peak_rss_mb"] = rss
        if self.cuda:
            found["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        return found


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets the peak resident set size (VmHWM) of this process
        return True
    except OSError:
        return False


def peak_rss_mb() -> float | None:
    """This process's peak resident set size in MiB (since the last reset on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process lifetime peak
    except ImportError:  # pragma: no cover - Windows
        return None
