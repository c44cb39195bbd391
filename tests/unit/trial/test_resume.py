"""A trial continued from an epoch snapshot trains exactly as the uninterrupted trial.

What a Ray trial moved off a lost node (or requeued after a driver crash) relies on: the snapshot
carries the network, the optimiser, the learning-rate schedule, every random generator and the
best epoch so far, so the continued trial's later epochs, best epoch and result are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
import torch

from automl_rnn import metric_names as M
from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data import prepare
from automl_rnn.data.prepared import PreparedData
from automl_rnn.data.source import DataSource
from automl_rnn.search.objectives import resolve_objectives
from automl_rnn.training.snapshot import EpochSnapshot, load, save
from automl_rnn.trial.outcome import Decision, NullTracker, TrialResult, TrialState
from automl_rnn.trial.runner import TrialContext, run_trial

# Two GRU layers with dropout between them (the torch generator matters), Adam's moments and a
# cosine schedule (the optimiser and schedule states matter), shuffled batches (the loader's
# generator matters).
PARAMS = {
    "topology": "seq2vec",
    "cell": "gru",
    "num_layers": 2,
    "dropout": 0.3,
    "hidden_size": 8,
    "lr": 1e-2,
    "lr_schedule": "cosine",
    "seq_len": 24,
}
EPOCHS = 4
WALL_CLOCK = {M.EPOCH_SECONDS, M.SAMPLES_PER_SECOND}


class Heard:
    """A reporter that records the epochs it hears and never prunes."""

    def __init__(self) -> None:
        self.epochs: list[int] = []

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        self.epochs.append(epoch)
        return Decision.CONTINUE


class Kept:
    """An epoch-checkpoint sink that keeps every snapshot in memory (or on disk)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.snapshots: list[EpochSnapshot] = []
        self.folder = folder

    def save_epoch(self, number: int, snapshot: EpochSnapshot) -> None:
        if self.folder is not None:
            save(snapshot, self.folder / f"epoch-{snapshot.epochs}.pt")
        self.snapshots.append(snapshot)


@pytest.fixture(scope="module")
def prepared() -> PreparedData:
    return prepare(DataSource.from_args({"task": "sine_mix"}))


def run(
    prepared: PreparedData,
    reporter: Heard,
    sink: Kept | None = None,
    resume: EpochSnapshot | None = None,
) -> TrialResult:
    spec = ExperimentSpec(task="sine_mix", max_epochs=EPOCHS, trials=1)
    objectives = tuple(resolve_objectives(["val_mae"], "forecast"))
    context = TrialContext(3, 41, objectives, epoch_checkpoints=sink, resume=resume)
    return run_trial(spec, prepared, dict(PARAMS), reporter, NullTracker(), context)


def steady(history: list[dict[str, float]]) -> list[dict[str, float]]:
    """The epochs' metrics without the wall-clock ones."""
    return [{k: v for k, v in epoch.items() if k not in WALL_CLOCK} for epoch in history]


@pytest.fixture(scope="module")
def uninterrupted(prepared: PreparedData, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    sink = Kept(tmp_path_factory.mktemp("snapshots"))
    result = run(prepared, Heard(), sink)
    assert result.state is TrialState.COMPLETE
    return result, sink


def test_one_snapshot_per_epoch_each_after_its_epoch(uninterrupted: tuple) -> None:
    result, sink = uninterrupted
    assert [s.epochs for s in sink.snapshots] == list(range(1, EPOCHS + 1))
    assert steady(sink.snapshots[-1].history) == steady(result.history)


@pytest.mark.parametrize("after", [1, 2])
def test_a_trial_continued_from_a_snapshot_ends_as_the_uninterrupted_one(
    prepared: PreparedData, uninterrupted: tuple, after: int
) -> None:
    result, sink = uninterrupted
    snapshot = load(sink.folder / f"epoch-{after}.pt")  # through the file, as a moved trial
    assert snapshot is not None
    heard = Heard()
    continued = run(prepared, heard, resume=snapshot)
    assert heard.epochs == list(range(after, EPOCHS))  # only the epochs left are trained
    assert steady(continued.history) == steady(result.history)
    assert continued.values == result.values
    assert continued.metrics["best_epoch"] == result.metrics["best_epoch"]
    assert continued.metrics["test_mae"] == result.metrics["test_mae"]


def test_a_snapshot_after_the_last_epoch_only_scores(
    prepared: PreparedData, uninterrupted: tuple
) -> None:
    result, sink = uninterrupted
    heard = Heard()
    continued = run(prepared, heard, resume=sink.snapshots[-1])
    assert heard.epochs == []
    assert continued.state is TrialState.COMPLETE
    assert continued.values == result.values


def test_the_best_epoch_so_far_survives_the_move(uninterrupted: tuple) -> None:
    result, sink = uninterrupted
    best = int(result.metrics["best_epoch"])
    later = sink.snapshots[-1]
    assert later.best_epoch == best
    assert later.best_state is not None
    # The best epoch's weights, not the last epoch's, when the best epoch is not the last.
    same = all(torch.equal(later.best_state[k], later.net[k]) for k in later.net)
    assert same == (best == EPOCHS - 1)


def test_snapshots_load_without_unpickling_code(uninterrupted: tuple, tmp_path: Path) -> None:
    _, sink = uninterrupted
    path = sink.folder / "epoch-1.pt"
    payload = torch.load(path, weights_only=True)  # raises on anything but tensors and containers
    assert payload["version"] == 1
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:100])
    assert load(broken) is None  # a truncated copy: the trial starts over
    assert load(tmp_path / "missing.pt") is None
