"""The Optuna backend's contract: complete, pruned and failed trials through real tiny searches.

Every search runs the real backend (``automl_rnn.api.search``) on the journal storage of a
``tmp_path`` workspace, training real models on the fast ``sine_mix`` task.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.trial import TrialState as OptunaState

from automl_rnn import api
from automl_rnn import metric_names as M
from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data import prepare
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.search.objectives import resolve_objectives
from automl_rnn.search.outcome import NeverPrune, TrialState
from automl_rnn.search.runner import TrialContext, run_trial, trial_seed
from automl_rnn.search.storage import journal_path, open_storage, owner_tag
from automl_rnn.tracking.base import NullTracker

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACES = Path(__file__).parents[1] / "fixtures" / "spaces"
FORECAST_TEST_METRICS = ("test_mae", "test_mase", "test_rel_mae")


def search(workspace: Path, **overrides: Any) -> dict[str, Any]:
    """One quiet search on ``sine_mix`` in ``workspace`` (seed 0 unless overridden)."""
    given = {"task": "sine_mix", "workspace": str(workspace), "seed": 0, **overrides}
    return api.search(given, progress=False)


def load(workspace: Path, name: str = "sine_mix") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(workspace))


# ---- COMPLETE ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    workspace = tmp_path_factory.mktemp("complete")
    summary = search(workspace, space="tiny", trials=2, max_epochs=2)
    return workspace, summary


def test_complete_trials_record_values_params_metrics_and_seed(
    completed: tuple[Path, dict[str, Any]],
) -> None:
    workspace, summary = completed
    assert summary["counts"]["complete"] == 2
    assert summary["counts"]["pruned"] == summary["counts"]["failed"] == 0
    study = load(workspace)
    trials = study.get_trials(states=(OptunaState.COMPLETE,))
    assert [t.number for t in trials] == [0, 1]
    for trial in trials:
        assert trial.value is not None and math.isfinite(trial.value)
        attrs = trial.user_attrs
        assert attrs["state"] == "complete"
        assert attrs["seed"] == trial_seed(0, trial.number)
        # The trained parameters: the sampled ones, with the runner's defaults filled in.
        params = attrs["params"]
        assert {k: params[k] for k in trial.params} == trial.params
        assert params["cell"] in ("gru", "lstm") and 8 <= params["hidden_size"] <= 16
        metrics = attrs["metrics"]
        for name in FORECAST_TEST_METRICS:
            assert math.isfinite(metrics[name]) and metrics[name] >= 0, name
        assert metrics["test_rel_mae"] == pytest.approx(
            metrics["test_mae"] / metrics["test_snaive_mae"]
        )
        # The objective (val_mae, the forecast default) is the best epoch's validation MAE.
        assert trial.value == pytest.approx(metrics[f"best_{M.VAL_METRIC}"])
        # Hyperband's first rung is epoch 2, so nothing is pruned, but every epoch is reported.
        assert sorted(trial.intermediate_values) == [0, 1]
        assert trial.value == pytest.approx(min(trial.intermediate_values.values()))
        assert metrics["epochs"] == 2
    assert summary["best"]["value"] == min(t.value for t in trials)


def test_complete_trial_checkpoint_loads_into_the_trained_network(
    completed: tuple[Path, dict[str, Any]],
) -> None:
    workspace, _ = completed
    prepared = prepare(DataSource.from_args({"task": "sine_mix"}))
    for trial in load(workspace).get_trials(states=(OptunaState.COMPLETE,)):
        path = Path(trial.user_attrs["checkpoint"])
        assert path.is_file() and path.is_relative_to(workspace)
        state = torch.load(path, weights_only=True)
        assert state and all(torch.isfinite(v).all() for v in state.values())
        params = trial.user_attrs["params"]
        arch = ArchConfig(**{f.name: params[f.name] for f in dataclasses.fields(ArchConfig)})
        net = build_network(arch, prepared.shape(params["topology"]))
        net.load_state_dict(state, strict=True)  # the best epoch's weights of this very network


# ---- PRUNED ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_default_pruner_prunes_poor_trials_early(tmp_path: Path) -> None:
    """Hyperband (the default) on a space where most learning rates are poor: some trials stop
    before ``max_epochs`` and are recorded PRUNED; pruned and complete trials both count."""
    max_epochs = 4
    summary = search(tmp_path, space=str(SPACES / "wide_lr.yaml"), trials=8, max_epochs=max_epochs)
    counts = summary["counts"]
    assert counts["complete"] + counts["pruned"] == 8
    assert counts["failed"] == counts["running"] == 0
    assert counts["pruned"] >= 1 and counts["complete"] >= 1
    study = load(tmp_path)
    pruned = study.get_trials(states=(OptunaState.PRUNED,))
    assert len(pruned) == counts["pruned"]
    for trial in pruned:
        assert trial.user_attrs["state"] == "pruned"
        assert trial.user_attrs["reason"].startswith("pruned at epoch ")
        assert max(trial.intermediate_values) < max_epochs - 1
        assert trial.user_attrs["metrics"]["epochs"] < max_epochs
    for trial in study.get_trials(states=(OptunaState.COMPLETE,)):
        assert sorted(trial.intermediate_values) == list(range(max_epochs))


# ---- FAILED ------------------------------------------------------------------------------------


def test_failing_trials_are_counted_with_reasons_and_capped(tmp_path: Path) -> None:
    """Every configuration diverges: the search returns normally, counts the failures with their
    reasons, and the failure cap stops it (finished trials can never reach ``trials``)."""
    summary = search(tmp_path, space=str(SPACES / "diverging.yaml"), trials=2, max_epochs=2)
    counts = summary["counts"]
    assert counts["complete"] == counts["pruned"] == counts["running"] == 0
    assert counts["failed"] >= 1
    assert summary["best"] is None
    assert "stopped" in summary
    reasons = summary["failure_reasons"]
    assert sum(reasons.values()) == counts["failed"]
    assert all(reason.startswith("diverged: ") for reason in reasons), reasons
    study = load(tmp_path)
    assert len(study.trials) == counts["failed"] <= 64  # stopped, not looping
    for trial in study.trials:
        assert trial.state == OptunaState.FAIL
        assert trial.user_attrs["state"] == "failed"
        assert trial.user_attrs["reason"].startswith("diverged: ")
        assert "checkpoint" not in trial.user_attrs


def test_space_no_model_can_satisfy_is_refused_before_any_trial(tmp_path: Path) -> None:
    """seq2seq cannot be bidirectional: the loader refuses the space (naming the file and the
    parameter) before a study exists, instead of failing every trial."""
    space = SPACES / "seq2seq_bidirectional.yaml"
    with pytest.raises(ConfigError, match="bidirectional") as raised:
        search(tmp_path, space=str(space), trials=2, max_epochs=2)
    assert str(space) in str(raised.value)
    assert not journal_path(tmp_path).exists()


# ---- the runner never lets a trial end the search ----------------------------------------------


def one_trial(params: dict[str, Any], seed: int = 123) -> Any:
    spec = ExperimentSpec(task="sine_mix", max_epochs=2, trials=1)
    objectives = tuple(resolve_objectives(["val_mae"], "forecast"))
    context = TrialContext(0, seed, objectives)
    return run_trial(spec, params, NeverPrune(), NullTracker(), context)


DIVERGING = {
    "topology": "seq2vec",
    "cell": "rnn_relu",
    "hidden_size": 32,
    "lr": 10.0,
    "grad_clip": None,
    "scaling": "global",
    "seq_len": 24,
}


@pytest.mark.parametrize("seed", [0, 1])
def test_diverging_trial_is_failed_never_complete(seed: int) -> None:
    result = one_trial(DIVERGING, seed)
    assert result.state is TrialState.FAILED
    assert result.reason is not None and result.reason.startswith("diverged: ")
    assert result.values is None and result.checkpoint is None
    assert result.seed == seed


@pytest.mark.parametrize(
    ("params", "prefix"),
    [
        ({"topology": "seq2seq", "bidirectional": True, "hidden_size": 8}, "error: ConfigError: "),
        ({"topology": "seq2vec", "hidden_size": 8, "seq_len": 1000}, "error: DataError: "),
        ({"topology": "seq2vec", "hidden_size": 8, "no_such_param": 1}, "error: ValidationError: "),
    ],
    ids=["model-refused", "window-too-long", "unknown-param"],
)
def test_trial_errors_become_failed_with_a_one_line_reason(
    params: dict[str, Any], prefix: str
) -> None:
    result = one_trial(params)
    assert result.state is TrialState.FAILED
    assert result.reason is not None and result.reason.startswith(prefix), result.reason
    assert "\n" not in result.reason
    assert result.values is None


# ---- stale RUNNING trials ----------------------------------------------------------------------


def dead_owner() -> str:
    """An owner tag naming a process that has exited (start time 0 never matches a live one)."""
    pid = subprocess.Popen([sys.executable, "-c", "pass"])
    pid.wait()
    return f"{socket.gethostname()}:{pid.pid}:0"


def running_trial(workspace: Path, owner: str | None) -> optuna.Trial:
    study = optuna.create_study(study_name="live", storage=open_storage(workspace))
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})
    if owner is not None:
        trial.set_user_attr("owner", owner)
    return trial


def test_trial_of_a_dead_worker_is_failed_and_its_params_queued_again(tmp_path: Path) -> None:
    trial = running_trial(tmp_path, dead_owner())
    payload = api.status("live", str(tmp_path))
    assert payload["counts"]["running"] == 0 and payload["counts"]["failed"] == 1
    study = load(tmp_path, "live")
    dead = study.trials[trial.number]
    assert dead.state == OptunaState.FAIL and "worker died" in dead.user_attrs["reason"]
    (retry,) = study.get_trials(states=(OptunaState.WAITING,))
    assert retry.user_attrs["retry_of"] == trial.number
    assert retry.system_attrs["fixed_params"] == dead.params


def test_a_search_fails_a_dead_workers_trial_and_runs_its_parameters_before_it_ends(
    tmp_path: Path,
) -> None:
    """A RUNNING trial whose worker died counts as running until someone fails it: the workers'
    own loop does so, so the search still ends with ``trials`` finished and the trial retried."""
    from automl_rnn.backends.optuna_backend import run_trials

    stuck = running_trial(tmp_path, dead_owner())
    study = load(tmp_path, "live")
    run_trials(
        study,
        lambda trial: trial.suggest_float("lr", 1e-3, 1e-1, log=True),
        trials=2,
        timeout=None,
        workspace=tmp_path,
        failure_limit=10,
    )
    trials = load(tmp_path, "live").trials
    assert trials[stuck.number].state == OptunaState.FAIL
    done = [t for t in trials if t.state == OptunaState.COMPLETE]
    assert len(done) == 2
    assert [t.params for t in done if t.user_attrs.get("retry_of") == stuck.number] == [
        trials[stuck.number].params
    ]


def test_the_last_epoch_is_reported_but_never_pruned(tmp_path: Path) -> None:
    """Pruning after the last epoch saves nothing and throws a trained model away."""
    from automl_rnn.backends.optuna_backend import OptunaReporter
    from automl_rnn.search.outcome import Decision

    prune_everything = optuna.pruners.ThresholdPruner(upper=0.0)
    study = optuna.create_study(storage=open_storage(tmp_path), pruner=prune_everything)
    early = OptunaReporter(study.ask(), prunable=True, last_epoch=2)
    assert early.report(1, 1.0) is Decision.PRUNE
    last = OptunaReporter(study.ask(), prunable=True, last_epoch=2)
    assert last.report(2, 1.0) is Decision.CONTINUE
    assert last.trial.study.trials[last.trial.number].intermediate_values == {2: 1.0}


def test_failure_reasons_count_kinds_that_differ_only_in_numbers_together(tmp_path: Path) -> None:
    from automl_rnn.search.summary import failure_reasons

    study = optuna.create_study(storage=open_storage(tmp_path))
    for reason in [
        "diverged: gradient norm 1.7e+06",
        "out_of_memory",
        "diverged: gradient norm 1.1e+08",
        "diverged: gradient norm 2.0e+05",
        "error: ValueError: bad shape (3, 4)",
    ]:
        trial = study.ask()
        trial.set_user_attr("reason", reason)
        study.tell(trial, state=OptunaState.FAIL)
    assert failure_reasons(study) == {
        "diverged: gradient norm <n>": 3,
        "out_of_memory": 1,
        "error: ValueError: bad shape (3, 4)": 1,  # one text of its kind: kept as it is
    }


def test_a_resumed_search_drops_the_previous_runs_stop_note(tmp_path: Path) -> None:
    summary = search(tmp_path, space="tiny", trials=1, max_epochs=2, tracking=False)
    assert "stopped" not in summary
    load(tmp_path).set_user_attr("stopped", "10 trials failed in a row")  # as a failed run leaves
    again = search(tmp_path, space="tiny", trials=2, max_epochs=2, tracking=False)
    assert again["counts"]["complete"] + again["counts"]["pruned"] == 2
    assert "stopped" not in again


def test_a_resume_with_another_epoch_budget_or_sampler_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    search(tmp_path, space="tiny", trials=1, max_epochs=2, tracking=False)
    capsys.readouterr()
    search(tmp_path, space="tiny", trials=2, max_epochs=3, sampler="random", tracking=False)
    err = capsys.readouterr().err
    assert "note: study 'sine_mix' continues with max_epochs=3 (was 2), sampler='random'" in err


def test_a_timeout_alone_bounds_the_search_by_time_not_by_the_default_trial_count() -> None:
    from automl_rnn.config.experiment import load_experiment

    assert load_experiment(None, {"task": "sine_mix", "timeout": 30}).trials is None
    assert load_experiment(None, {"task": "sine_mix"}).trials == 10
    both = load_experiment(None, {"task": "sine_mix", "timeout": 30, "trials": 4})
    assert (both.trials, both.timeout) == (4, 30)


@pytest.mark.parametrize("owned", [True, False], ids=["owned", "owner-not-yet-recorded"])
def test_status_leaves_a_live_trial_running(tmp_path: Path, owned: bool) -> None:
    """A trial this (live) process runs is never recovered, even in the moment between Optuna
    creating it (RUNNING) and the objective recording its owner: a `status` (or a second
    `search`) at that moment must not fail it, or the worker's next write to it raises."""
    trial = running_trial(tmp_path, owner_tag() if owned else None)
    payload = api.status("live", str(tmp_path))
    assert payload["counts"]["running"] == 1 and payload["counts"]["failed"] == 0
    assert load(tmp_path, "live").trials[trial.number].state == OptunaState.RUNNING
    trial.set_user_attr("done", True)  # the worker can still write to its trial


# ---- first trials ------------------------------------------------------------------------------

FIRST_SPACE = """\
description: tiny space with a first trial
params:
  cell: {choices: [gru, lstm]}
  num_layers: 1
  hidden_size: {low: 8, high: 16}
  lr: {low: 3.0e-3, high: 3.0e-2, log: true}
  batch_size: 32
  seq_len: auto
first_trials:
  - {cell: lstm, hidden_size: 13, lr: 1.0e-2}
"""


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_new_study_runs_first_trials_first_and_resuming_does_not_repeat_them(
    tmp_path: Path, sampler: str
) -> None:
    space = tmp_path / "first.yaml"
    space.write_text(FIRST_SPACE, encoding="utf-8")
    search(tmp_path, space=str(space), sampler=sampler, trials=2, max_epochs=1)
    study = load(tmp_path)
    first, second = study.trials
    assert {k: first.params[k] for k in ("cell", "hidden_size", "lr")} == {
        "cell": "lstm",
        "hidden_size": 13,
        "lr": 0.01,
    }
    assert first.user_attrs["first_trial"] is True and "first_trial" not in second.user_attrs
    search(tmp_path, space=str(space), sampler=sampler, trials=3, max_epochs=1)
    study = load(tmp_path)
    assert [t.state for t in study.trials] == [OptunaState.COMPLETE] * 3
    assert [t.user_attrs.get("first_trial", False) for t in study.trials] == [True, False, False]


# ---- exact trial budget with parallel workers --------------------------------------------------


def _quick_worker(workspace: str, trials: int, seed: int) -> None:
    """A worker running instant trials: the claim race is widest when trials take no time."""
    from automl_rnn.backends.optuna_backend import run_trials

    study = optuna.load_study(
        study_name="race",
        storage=open_storage(Path(workspace)),
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )
    run_trials(
        study,
        lambda trial: trial.suggest_float("x", 0.0, 1.0),
        trials=trials,
        timeout=None,
        workspace=Path(workspace),
        failure_limit=10,
    )


@pytest.mark.parametrize("workers", [2, 4])
def test_parallel_workers_start_exactly_the_requested_trials(tmp_path: Path, workers: int) -> None:
    import multiprocessing

    optuna.create_study(study_name="race", storage=open_storage(tmp_path))
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_quick_worker, args=(str(tmp_path), 24, seed))
        for seed in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    study = load(tmp_path, "race")
    assert len(study.trials) == 24
    assert all(t.state == OptunaState.COMPLETE for t in study.trials)


def test_run_trials_fails_the_trial_and_ends_the_worker_on_an_interrupt(tmp_path: Path) -> None:
    from automl_rnn.backends.optuna_backend import run_trials

    study = optuna.create_study(study_name="stop", storage=open_storage(tmp_path))

    def interrupted(trial: optuna.Trial) -> float:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_trials(
            study,
            interrupted,
            trials=5,
            timeout=None,
            workspace=tmp_path,
            failure_limit=10,
        )
    assert [t.state for t in load(tmp_path, "stop").trials] == [OptunaState.FAIL]


def test_a_tracker_that_cannot_be_built_leaves_the_trial_untracked_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from automl_rnn.backends.optuna_backend import create_study, make_objective
    from automl_rnn.search.plan import make_plan
    from automl_rnn.tracking.mlflow_tracker import TrackingTarget

    spec = ExperimentSpec(
        task="sine_mix", space="tiny", trials=1, max_epochs=1, workspace=str(tmp_path)
    )
    plan = make_plan(spec)
    study = create_study(spec, plan)
    broken = TrackingTarget("bogus://nowhere", "0", "no-parent", "sine_mix")
    trial = study.ask()
    value = make_objective(spec, plan, broken)(trial)
    assert math.isfinite(value)
    assert trial.user_attrs["state"] == "complete"
    err = capsys.readouterr().err
    assert "warning: MLflow tracking of trial 0 stopped (UnsupportedModelRegistryStoreURI" in err
    assert len(err.strip().splitlines()) == 1
