"""What a trial ends as, and the reporter protocol a backend hands to the trial runner."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol


class TrialState(str, enum.Enum):
    """Explicit trial outcome: a failed trial carries its reason, and never ends the search."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"


class Decision(str, enum.Enum):
    """A reporter's answer after each epoch."""

    CONTINUE = "continue"
    PRUNE = "prune"


class Reporter(Protocol):
    """What a trial calls once per epoch; a backend translates it (Optuna: report/should_prune)."""

    def report(self, epoch: int, value: float) -> Decision:
        """Report the pruning objective after ``epoch`` (0-based); answer continue or prune."""
        ...


class NeverPrune:
    """A reporter that always continues (multi-objective searches, refits, tests)."""

    def report(self, epoch: int, value: float) -> Decision:
        return Decision.CONTINUE


@dataclass
class TrialResult:
    """The outcome of :func:`automl_rnn.search.runner.run_trial`."""

    state: TrialState
    values: list[float] | None = None
    """Objective values (one per objective) for COMPLETE trials."""
    reason: str | None = None
    """Why a trial failed (``diverged: ...``, ``out_of_memory``, ``error: <type>: <message>``) or
    was pruned (``pruned at epoch N``)."""
    params: dict[str, Any] = field(default_factory=dict)
    """The hyperparameters the trial trained with (defaults filled in, tbptt normalised)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Validation and test metrics of the best epoch, parameter count, latency, epochs."""
    history: list[dict[str, float]] = field(default_factory=list)
    """Per-epoch metrics (names from :mod:`automl_rnn.metric_names`)."""
    seed: int = 0
    checkpoint: str | None = None
    """Path of the best-epoch weights (a ``state_dict`` loadable with ``weights_only=True``)."""
    traceback: str | None = None
    """The traceback of an unexpected error (kept for the tracker, never printed to users)."""
