"""What a trial ends as, and the protocols a backend hands the trial runner: the reporter (continue
or prune after each epoch), the tracker (the trial's life) and the checkpoint sink (best weights).

Plain Python only: torch loads when a checkpoint is written, never on import.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

    from automl_rnn.training.snapshot import EpochSnapshot


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

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        """Every metric of epoch ``epoch`` (0-based); answer continue or prune."""
        ...


class NeverPrune:
    """A reporter that always continues (multi-objective searches, refits, tests)."""

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        return Decision.CONTINUE


#: The failure reason of a trial that ran out of memory (the host's, an accelerator's or, on
#: Ray, killed by its memory monitor).
OUT_OF_MEMORY = "out_of_memory"


@dataclass
class TrialResult:
    """The outcome of :func:`automl_rnn.trial.runner.run_trial`."""

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
    """Where the best-epoch weights were saved (a ``state_dict`` loadable with
    ``weights_only=True``), as the checkpoint sink named it."""
    traceback: str | None = None
    """The traceback of an unexpected error (kept for the tracker, never printed to users)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Where the trial ran (``node``; ``nodes`` when a backend moved it), as tracker tags."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (the state as its value); :meth:`from_dict` reads it back. Non-finite
        floats stay floats (``json`` writes them as ``NaN`` / ``Infinity``)."""
        return {
            "state": self.state.value,
            "values": None if self.values is None else [float(v) for v in self.values],
            "reason": self.reason,
            "params": dict(self.params),
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "history": [{k: float(v) for k, v in epoch.items()} for epoch in self.history],
            "seed": self.seed,
            "checkpoint": self.checkpoint,
            "traceback": self.traceback,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialResult:
        """The result :meth:`to_dict` wrote (missing optional keys take their defaults)."""
        values = data.get("values")
        return cls(
            state=TrialState(data["state"]),
            values=None if values is None else [float(v) for v in values],
            reason=data.get("reason"),
            params=dict(data.get("params") or {}),
            metrics={str(k): float(v) for k, v in (data.get("metrics") or {}).items()},
            history=[
                {str(k): float(v) for k, v in epoch.items()} for epoch in data.get("history") or []
            ],
            seed=int(data.get("seed", 0)),
            checkpoint=data.get("checkpoint"),
            traceback=data.get("traceback"),
            tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
        )


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


class CheckpointSink(Protocol):
    """Keeps a COMPLETE trial's best-epoch weights."""

    def save_best(self, number: int, state: dict[str, torch.Tensor]) -> str:
        """Save trial ``number``'s weights (detached CPU tensors); return their path or URI."""
        ...


class EpochCheckpoints(Protocol):
    """Keeps a running trial's state after each epoch, so it can resume after a lost node."""

    def save_epoch(self, number: int, snapshot: EpochSnapshot) -> None:
        """Save trial ``number``'s snapshot after its latest epoch (before that epoch is
        reported, so a report always has its checkpoint)."""
        ...


@dataclass(frozen=True)
class LocalCheckpoints:
    """Checkpoints as ``<folder>/trial-N.pt`` files (the workspace's checkpoint folder)."""

    folder: Path

    def path(self, number: int) -> Path:
        """Where trial ``number``'s weights are (or would be) saved."""
        return self.folder / f"trial-{number}.pt"

    def save_best(self, number: int, state: dict[str, torch.Tensor]) -> str:
        import torch

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(number)
        torch.save(state, path)
        return str(path)
