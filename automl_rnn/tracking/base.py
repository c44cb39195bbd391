"""The tracker protocol the trial runner writes to (the MLflow implementation lives beside it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from automl_rnn.search.outcome import TrialResult


class Tracker(Protocol):
    """Receives one trial's life: start, per-epoch metrics, end state."""

    def start_trial(self, number: int, params: dict[str, Any], tags: dict[str, str]) -> None:
        """A trial begins with these parameters and tags."""
        ...

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """One epoch's metrics, logged as one batch."""
        ...

    def end_trial(self, result: TrialResult) -> None:
        """The trial ended: its state, reason, metrics and history are in ``result``."""
        ...

    def abort(self, status: str = "KILLED", reason: str = "interrupted") -> None:
        """The trial was cut short (Ctrl-C, SIGTERM) before ``end_trial``; never raises."""
        ...


class NullTracker:
    """Tracks nothing (tracking disabled, and tests of the runner alone)."""

    def start_trial(self, number: int, params: dict[str, Any], tags: dict[str, str]) -> None:
        return None

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        return None

    def end_trial(self, result: TrialResult) -> None:
        return None

    def abort(self, status: str = "KILLED", reason: str = "interrupted") -> None:
        return None
