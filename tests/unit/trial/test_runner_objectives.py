"""Objectives at the trial's edges: a non-finite objective fails the trial (whether it was never
finite or only its second objective is not), and a maximised objective reaches Optuna's pruner
as the metric itself, never sign-flipped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pytest

from automl_rnn import metric_names as M
from automl_rnn.backends.optuna_backend import OptunaReporter
from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.series import RawSeries
from automl_rnn.data.splits import seeded_split
from automl_rnn.search.objectives import resolve_objectives
from automl_rnn.search.storage import open_storage
from automl_rnn.trial.outcome import (
    Decision,
    LocalCheckpoints,
    NeverPrune,
    NullTracker,
    Reporter,
    TrialResult,
    TrialState,
)
from automl_rnn.trial.runner import TrialContext, run_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPEC = ExperimentSpec(task="sine_mix", max_epochs=2, epoch_samples=64, trials=1)
ONE_EPOCH = SPEC.model_copy(update={"max_epochs": 1})
SMALL = {"topology": "seq2vec", "cell": "gru", "hidden_size": 8, "lr": 1e-2, "batch_size": 32}


def _trial(
    prepared: ForecastData | ArrayData,
    objectives: list[str],
    reporter: Reporter,
    params: dict[str, object],
    checkpoints: Path | None = None,
    spec: ExperimentSpec = SPEC,
) -> TrialResult:
    context = TrialContext(
        0,
        seed=3,
        objectives=tuple(resolve_objectives(objectives, prepared.kind)),
        checkpoints=None if checkpoints is None else LocalCheckpoints(checkpoints),
    )
    return run_trial(spec, prepared, params, reporter, NullTracker(), context)


# ---- non-finite objectives ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def jump() -> ForecastData:
    """A quiet training part (a sine), then validation and test parts 1e20 higher.

    Training is unremarkable (the guard sees nothing); in validation, the first windows' targets
    sit ~1e20 input-window deviations away, so the scaled MSE (``val_loss``) overflows float32 to
    inf every epoch, while ``val_mae`` (original units, ~1e20) stays finite.
    """
    t = np.arange(192)
    values = np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.1, len(t))
    values[160:] += 1e20
    raw = RawSeries("jump", ("y",), 1, values[:, None], t + 2)
    return ForecastData("jump", raw, horizon=2, season=None, val_size=16, test_size=16)


def test_a_trial_whose_objective_is_never_finite_fails_as_diverged(
    jump: ForecastData, tmp_path: Path
) -> None:
    params = {**SMALL, "seq_len": 8}
    result = _trial(jump, ["val_loss"], NeverPrune(), params, tmp_path, ONE_EPOCH)
    assert len(result.history) == 1  # it trained its epoch: the training guard let it pass
    assert all(math.isfinite(epoch[M.TRAIN_LOSS]) for epoch in result.history)
    assert all(epoch[M.VAL_LOSS] == math.inf for epoch in result.history)
    assert result.state is TrialState.FAILED
    assert result.reason == "diverged: non-finite objective val_loss=inf"
    assert result.values is None and result.checkpoint is None
    assert not list(tmp_path.iterdir())  # no weights kept


def test_a_trial_with_a_non_finite_second_objective_fails_instead_of_completing(
    jump: ForecastData, tmp_path: Path
) -> None:
    """``--objectives val_mae,val_loss``: the best epoch (by val_mae, finite) has val_loss inf."""
    params = {**SMALL, "seq_len": 8}
    result = _trial(jump, ["val_mae", "val_loss"], NeverPrune(), params, tmp_path, ONE_EPOCH)
    assert all(math.isfinite(epoch[M.VAL_METRIC]) for epoch in result.history)
    best = result.history[int(result.metrics["best_epoch"])]
    assert best[M.VAL_LOSS] == math.inf
    assert result.state is TrialState.FAILED
    assert result.reason is not None and result.reason.startswith("diverged: non-finite objective")
    assert result.values is None and result.checkpoint is None
    assert not list(tmp_path.iterdir())


# ---- a maximised objective and the pruner ------------------------------------------------------


def _study(tmp_path: Path, plateau: float) -> optuna.Study:
    """A maximising study in a real journal storage whose median pruner has seen two trials
    plateau at accuracy ``plateau`` (it prunes from the first epoch on)."""
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    study = optuna.create_study(storage=open_storage(tmp_path), direction="maximize", pruner=pruner)
    for _ in range(2):
        trial = study.ask()
        for epoch in range(4):
            trial.report(plateau, epoch)
        study.tell(trial, plateau)
    return study


def test_a_maximised_objective_reaches_the_pruner_as_the_metric_not_its_negation(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path, plateau=0.5)
    (accuracy,) = resolve_objectives(["val_accuracy"], "classification")
    assert accuracy.direction == "maximize"
    good = OptunaReporter(study.ask(), accuracy, prunable=True, last_epoch=3)
    curve = [0.6, 0.7, 0.8]
    decisions = [good.report(e, {M.VAL_METRIC: v}) for e, v in enumerate(curve)]
    assert decisions == [Decision.CONTINUE] * 3  # better than the median: never pruned
    reread = optuna.load_study(study_name=study.study_name, storage=open_storage(tmp_path))
    assert reread.trials[good.trial.number].intermediate_values == dict(enumerate(curve))
    bad = OptunaReporter(study.ask(), accuracy, prunable=True, last_epoch=3)
    assert bad.report(0, {M.VAL_METRIC: 0.3}) is Decision.PRUNE  # the pruner does prune


def _classes() -> ArrayData:
    """Tell a rising sequence from a falling one (learnt within an epoch or two)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 96)
    slope = np.where(y == 1, 1.0, -1.0)[:, None]
    x = (slope * np.linspace(0, 1, 6) + rng.normal(0, 0.2, (96, 6))).astype(np.float32)
    split = seeded_split(96, 0.25, 0.25, seed=0)
    view = View(x[:, :, None], y.astype(np.int64))
    return ArrayData("slopes", "classification", {"seq2vec": view}, split, "accuracy", "slopes",
                     classes=("falling", "rising"))  # fmt: skip


def test_a_trial_reports_its_raw_validation_accuracy_to_optuna_every_epoch(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path, plateau=0.1)  # any two-class model beats it
    (accuracy,) = resolve_objectives(["val_accuracy"], "classification")
    reporter = OptunaReporter(study.ask(), accuracy, prunable=True, last_epoch=1)
    result = _trial(_classes(), ["val_accuracy"], reporter, SMALL)
    seen = study.trials[reporter.trial.number].intermediate_values
    assert seen == {e: epoch[M.VAL_METRIC] for e, epoch in enumerate(result.history)}
    assert all(0.1 < value <= 1.0 for value in seen.values())  # better than the plateau
    assert result.state is TrialState.COMPLETE  # not pruned
    assert result.values == [max(seen.values())]
