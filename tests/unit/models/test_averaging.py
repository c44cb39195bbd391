"""The weights' moving average (``ema_decay``): its arithmetic, and that the model a trial keeps
is the average that validation scored, through a resume and a refit too."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data import prepare
from automl_rnn.data.prepared import PreparedData
from automl_rnn.data.source import DataSource
from automl_rnn.models.averaging import WeightAverage
from automl_rnn.search.objectives import resolve_objectives
from automl_rnn.training.recipe import fit, resolve_params
from automl_rnn.training.snapshot import EpochSnapshot
from automl_rnn.trial.outcome import Decision, NullTracker, TrialResult, TrialState
from automl_rnn.trial.runner import TrialContext, run_trial

PARAMS = {"topology": "seq2vec", "cell": "gru", "hidden_size": 8, "lr": 3e-2, "seq_len": 24}
EPOCHS = 4


class Continue:
    def report(self, epoch: int, metrics: object) -> Decision:
        return Decision.CONTINUE


class Kept:
    def __init__(self) -> None:
        self.snapshots: list[EpochSnapshot] = []

    def save_epoch(self, number: int, snapshot: EpochSnapshot) -> None:
        self.snapshots.append(snapshot)


class Saved:
    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = {}

    def save_best(self, number: int, state: dict[str, torch.Tensor]) -> str:
        self.state = state
        return "memory"


def test_the_average_follows_the_ramped_decay_and_a_double_swap_restores_the_weights() -> None:
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    start = {k: v.clone() for k, v in net.state_dict().items()}
    average = WeightAverage(net, decay=0.9)
    expected = {k: v.clone() for k, v in start.items()}
    for step in range(1, 6):
        with torch.no_grad():
            for param in net.parameters():
                param.add_(float(step))
        average.update()
        decay = min(0.9, (1 + step) / (10 + step))
        for name, value in net.state_dict().items():
            expected[name] = decay * expected[name] + (1 - decay) * value
    for name, value in average.state().items():
        torch.testing.assert_close(value, expected[name])
    live = {k: v.clone() for k, v in net.state_dict().items()}
    average.swap()
    for name, value in net.state_dict().items():
        torch.testing.assert_close(value, expected[name])
    average.swap()
    for name, value in net.state_dict().items():
        assert torch.equal(value, live[name])


@pytest.fixture(scope="module")
def prepared() -> PreparedData:
    return prepare(DataSource.from_args({"task": "sine_mix"}))


def trial(
    prepared: PreparedData,
    ema: float | None,
    sink: Kept | None = None,
    saved: Saved | None = None,
    resume: EpochSnapshot | None = None,
) -> TrialResult:
    spec = ExperimentSpec(task="sine_mix", max_epochs=EPOCHS, trials=1)
    objectives = tuple(resolve_objectives(["val_mae"], "forecast"))
    context = TrialContext(0, 41, objectives, saved, epoch_checkpoints=sink, resume=resume)
    params = {**PARAMS, "ema_decay": ema}
    result = run_trial(spec, prepared, params, Continue(), NullTracker(), context)
    assert result.state is TrialState.COMPLETE, result.reason
    return result


@pytest.fixture(scope="module")
def averaged(prepared: PreparedData) -> tuple[TrialResult, Kept, Saved]:
    sink, saved = Kept(), Saved()
    return trial(prepared, 0.9, sink, saved), sink, saved


def test_the_kept_model_is_the_average_that_validation_scored(
    prepared: PreparedData, averaged: tuple[TrialResult, Kept, Saved]
) -> None:
    """The best epoch's validation MAE (from training) equals the kept weights' validation MAE
    (scored afresh after loading them), and those weights are the average, not the network's."""
    result, sink, saved = averaged
    assert result.metrics["best_val_metric"] == pytest.approx(result.metrics["val_mae"], rel=1e-6)
    best = int(result.metrics["best_epoch"])
    snapshot = sink.snapshots[best]
    assert snapshot.average is not None
    for name, value in saved.state.items():
        assert torch.equal(value, snapshot.average[name]), name
    assert any(not torch.equal(saved.state[k], snapshot.net[k]) for k in snapshot.average)
    plain = trial(prepared, None)
    assert plain.history[0]["val_metric"] != result.history[0]["val_metric"]


def test_a_trial_with_an_average_continued_from_a_snapshot_ends_as_the_uninterrupted_one(
    prepared: PreparedData, averaged: tuple[TrialResult, Kept, Saved]
) -> None:
    result, sink, _ = averaged
    continued = trial(prepared, 0.9, resume=sink.snapshots[1])
    assert continued.values == result.values
    assert continued.metrics["test_mae"] == result.metrics["test_mae"]


def test_a_refit_ends_with_the_average_as_its_weights(prepared: PreparedData) -> None:
    spec = ExperimentSpec(task="sine_mix", max_epochs=EPOCHS, trials=1)
    hp = resolve_params({**PARAMS, "ema_decay": 0.9}, prepared)
    fitted = fit(spec, prepared, hp, 41, epochs=2, train_on="train+val")
    assert fitted.module.average is not None
    for name, value in fitted.module.average.state().items():
        assert torch.equal(fitted.net.state_dict()[name].cpu(), value), name
