"""What only the Optuna backend does: its reporter and pruner, the worker loop (claims, stale
trials, interrupts), first trials through its sampler, and the status / repair of its storage.

What every backend guarantees is in ``test_backend_contract.py``. Tests of the worker loop itself
drive ``optuna_backend.optimize`` with instant trials (the trial runner replaced), so the claim
race and the recovery rules are exercised without training.
"""

from __future__ import annotations

import math
import multiprocessing
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState as OptunaState

from automl_rnn import api
from automl_rnn import metric_names as M
from automl_rnn.backends import execute
from automl_rnn.backends.base import SearchJob
from automl_rnn.backends.optuna_backend import OptunaReporter, optimize
from automl_rnn.config.experiment import ExperimentSpec, load_experiment
from automl_rnn.ownership import owner_tag
from automl_rnn.search.ledger import INTERRUPTED, WORKER_DIED, Ledger
from automl_rnn.search.plan import SearchPlan, make_plan
from automl_rnn.search.records import StudySnapshot, TrialStatus
from automl_rnn.search.storage import open_storage
from automl_rnn.trial.objectives import Objective
from automl_rnn.trial.outcome import Decision, TrialResult, TrialState
from automl_rnn.trial.runner import TrialContext

optuna.logging.set_verbosity(optuna.logging.WARNING)

QUIET: dict[str, Any] = {"task": "sine_mix", "space": "tiny", "seed": 0, "tracking": False}


def search(workspace: Path, **overrides: Any) -> dict[str, Any]:
    """One quiet untracked search on ``sine_mix`` in ``workspace``."""
    return api.search({**QUIET, "workspace": str(workspace), **overrides}, progress=False)


def ledger(workspace: Path, name: str = "sine_mix") -> StudySnapshot:
    return Ledger.open(workspace, name).snapshot()


def load(workspace: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(workspace))


def dead_owner() -> str:
    """An owner tag naming a process that has exited (start time 0 never matches a live one)."""
    pid = subprocess.Popen([sys.executable, "-c", "pass"])
    pid.wait()
    return f"{socket.gethostname()}:{pid.pid}:0"


# ---- the worker loop, with instant trials ------------------------------------------------------


@pytest.fixture(scope="module")
def plan() -> SearchPlan:
    return make_plan(ExperimentSpec(task="sine_mix", space="tiny"))


def job(plan: SearchPlan, workspace: Path, **update: Any) -> SearchJob:
    """The job the orchestrator would hand the backend (no tracking)."""
    spec = ExperimentSpec(
        task="sine_mix", space="tiny", max_epochs=1, tracking=False, workspace=str(workspace)
    )
    return SearchJob(spec.model_copy(update=update), plan)


def instant_trial(
    experiment: ExperimentSpec,
    prepared: object,
    params: dict[str, object],
    reporter: object,
    tracker: object,
    context: TrialContext,
) -> TrialResult:
    """A trial that takes no time: the claim race is widest then."""
    lr = params["lr"]
    assert isinstance(lr, float)
    return TrialResult(TrialState.COMPLETE, [lr], params=dict(params), seed=context.seed)


@pytest.fixture
def instant(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials end at once, COMPLETE (forked workers inherit it)."""
    monkeypatch.setattr(execute, "run_trial", instant_trial)


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize("workers", [2, 4])
def test_parallel_workers_start_exactly_the_requested_trials(
    plan: SearchPlan, tmp_path: Path, workers: int
) -> None:
    Ledger.create(tmp_path, "sine_mix", ["minimize"])
    racing = job(plan, tmp_path, trials=24, sampler="random")
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=optimize, args=(racing, w)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    study = ledger(tmp_path)
    assert len(study.trials) == 24
    assert all(t.status is TrialStatus.COMPLETE for t in study.trials)


@pytest.mark.usefixtures("instant")
def test_the_worker_loop_fails_a_dead_workers_trial_and_runs_its_parameters_before_it_ends(
    plan: SearchPlan, tmp_path: Path
) -> None:
    """A RUNNING trial whose worker died counts as running until someone fails it: the workers'
    own loop does so, so the search still ends with ``trials`` finished and the trial retried."""
    stuck = Ledger.create(tmp_path, "sine_mix", ["minimize"])
    trial = stuck.study.ask()
    plan.space.suggest(trial)
    stuck.handle(trial.number).start(dead_owner(), seed=0)
    optimize(job(plan, tmp_path, trials=2), 0)
    study = ledger(tmp_path)
    dead = study.trials[trial.number]
    assert dead.status is TrialStatus.FAILED and dead.reason == WORKER_DIED
    done = study.by_status(TrialStatus.COMPLETE)
    assert len(done) == 2
    assert [t.sampled for t in done if t.retry_of == trial.number] == [trial.params]


def test_the_worker_loop_fails_the_trial_and_ends_on_an_interrupt(
    plan: SearchPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object) -> TrialResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "run_trial", interrupted)
    monkeypatch.setattr(execute, "ignore_further_interrupts", lambda: None)  # keep pytest's Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        optimize(job(plan, tmp_path, trials=5), 0)
    cut, queued = ledger(tmp_path).trials  # one trial started, no second one
    assert (cut.status, cut.reason) == (TrialStatus.FAILED, INTERRUPTED)
    assert (queued.status, queued.retry_of) == (TrialStatus.WAITING, cut.number)


def test_a_tracker_that_cannot_be_built_leaves_the_trial_untracked_not_failed(
    plan: SearchPlan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from automl_rnn.tracking.mlflow_tracker import TrackingTarget

    broken = TrackingTarget("bogus://nowhere", "0", "no-parent", "sine_mix")
    spec = job(plan, tmp_path, trials=1).spec
    optimize(SearchJob(spec, plan, broken), 0)
    (trial,) = ledger(tmp_path).trials
    assert trial.status is TrialStatus.COMPLETE
    assert trial.value is not None and math.isfinite(trial.value)
    assert trial.mlflow_run_id is None
    err = capsys.readouterr().err
    assert "warning: MLflow tracking of trial 0 stopped (UnsupportedModelRegistryStoreURI" in err
    assert len(err.strip().splitlines()) == 1


# ---- reporting and pruning ---------------------------------------------------------------------


def test_every_epoch_is_reported_to_the_pruner_and_the_value_is_the_best_one(
    tmp_path: Path,
) -> None:
    """Hyperband's first rung is epoch 2, so nothing is pruned, but every epoch is reported."""
    search(tmp_path, trials=1, max_epochs=2)
    (trial,) = ledger(tmp_path).trials
    assert trial.status is TrialStatus.COMPLETE and trial.value is not None
    assert sorted(trial.intermediate) == [0, 1]
    assert trial.value == pytest.approx(min(trial.intermediate.values()))
    assert trial.value == pytest.approx(trial.metrics[f"best_{M.VAL_METRIC}"])


VAL_MAE = Objective("val_mae", "val_mae", "minimize")


def reporter(study: optuna.Study, prunable: bool = True, last_epoch: int = 2) -> OptunaReporter:
    return OptunaReporter(study.ask(), VAL_MAE, prunable=prunable, last_epoch=last_epoch)


def test_the_last_epoch_is_reported_but_never_pruned(tmp_path: Path) -> None:
    """Pruning after the last epoch saves nothing and throws a trained model away."""
    prune_everything = optuna.pruners.ThresholdPruner(upper=0.0)
    study = optuna.create_study(storage=open_storage(tmp_path), pruner=prune_everything)
    early = reporter(study)
    assert early.report(1, {"val_mae": 1.0}) is Decision.PRUNE
    last = reporter(study)
    assert last.report(2, {"val_mae": 1.0}) is Decision.CONTINUE
    assert last.trial.study.trials[last.trial.number].intermediate_values == {2: 1.0}


def test_nothing_is_reported_when_pruning_is_off_or_the_value_is_not_finite(
    tmp_path: Path,
) -> None:
    prune_everything = optuna.pruners.ThresholdPruner(upper=0.0)
    study = optuna.create_study(storage=open_storage(tmp_path), pruner=prune_everything)
    off, missing = reporter(study, prunable=False), reporter(study)
    assert off.report(0, {"val_mae": 1.0}) is Decision.CONTINUE
    assert missing.report(0, {"val_mae": math.nan}) is Decision.CONTINUE
    assert missing.report(1, {"train_loss": 1.0}) is Decision.CONTINUE
    assert all(not t.intermediate_values for t in study.trials)


# ---- resume notes, budget ----------------------------------------------------------------------


@pytest.mark.usefixtures("instant")
def test_a_resume_with_another_epoch_budget_or_sampler_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    search(tmp_path, trials=1, max_epochs=2)
    capsys.readouterr()
    search(tmp_path, trials=2, max_epochs=3, sampler="random")
    err = capsys.readouterr().err
    assert "note: study 'sine_mix' continues with max_epochs=3 (was 2), sampler='random'" in err


def test_a_timeout_alone_bounds_the_search_by_time_not_by_the_default_trial_count() -> None:
    assert load_experiment(None, {"task": "sine_mix", "timeout": 30}).trials is None
    assert load_experiment(None, {"task": "sine_mix"}).trials == 10
    both = load_experiment(None, {"task": "sine_mix", "timeout": 30, "trials": 4})
    assert (both.trials, both.timeout) == (4, 30)


# ---- stale RUNNING trials: status reports, repair fixes ----------------------------------------

OWNERS: Mapping[str, Callable[[], str | None]] = {
    "owned": owner_tag,
    "owner-not-yet-recorded": lambda: None,
    "dead": dead_owner,
}


def running_trial(workspace: Path, owner: str | None) -> optuna.Trial:
    study = optuna.create_study(study_name="live", storage=open_storage(workspace))
    trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})
    if owner is not None:
        Ledger(study._storage, study).handle(trial.number).start(owner, seed=0)
    return trial


@pytest.mark.parametrize("owner", list(OWNERS))
def test_status_leaves_a_live_trial_running(tmp_path: Path, owner: str) -> None:
    """`status` only reads: a trial this (live) process runs is left alone, even in the moment
    between Optuna creating it (RUNNING) and the worker recording its owner, and a dead worker's
    trial is listed as stale but left RUNNING for `repair` (or a resuming `search`) to fail."""
    trial = running_trial(tmp_path, OWNERS[owner]())
    payload = api.status("live", str(tmp_path))
    assert payload["counts"]["running"] == 1 and payload["counts"]["failed"] == 0
    assert payload["stale_trials"] == ([trial.number] if owner == "dead" else [])
    assert load(tmp_path, "live").trials[trial.number].state == OptunaState.RUNNING
    trial.set_user_attr("done", True)  # the worker can still write to its trial


@pytest.mark.parametrize("owner", ["owned", "owner-not-yet-recorded"])
def test_repair_leaves_a_live_trial_running(tmp_path: Path, owner: str) -> None:
    trial = running_trial(tmp_path, OWNERS[owner]())
    repaired = api.repair("live", str(tmp_path))
    assert (repaired["failed_trials"], repaired["requeued"]) == ([], [])
    assert load(tmp_path, "live").trials[trial.number].state == OptunaState.RUNNING
    trial.set_user_attr("done", True)


def test_repair_fails_a_dead_workers_trial_and_queues_its_params_again(tmp_path: Path) -> None:
    trial = running_trial(tmp_path, dead_owner())
    repaired = api.repair("live", str(tmp_path))
    assert repaired["study"] == "live" and repaired["failed_trials"] == [trial.number]
    study = load(tmp_path, "live")
    dead = study.trials[trial.number]
    assert dead.state == OptunaState.FAIL
    assert ledger(tmp_path, "live").trials[trial.number].reason == WORKER_DIED
    (retry,) = study.get_trials(states=(OptunaState.WAITING,))
    assert repaired["requeued"] == [retry.number]
    assert ledger(tmp_path, "live").trials[retry.number].retry_of == trial.number
    assert retry.system_attrs["fixed_params"] == dead.params
    payload = api.status("live", str(tmp_path))
    assert payload["stale_trials"] == [] and payload["counts"]["failed"] == 1


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


@pytest.mark.usefixtures("instant")
@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_new_study_runs_first_trials_first_and_resuming_does_not_repeat_them(
    tmp_path: Path, sampler: str
) -> None:
    space = tmp_path / "first.yaml"
    space.write_text(FIRST_SPACE, encoding="utf-8")
    search(tmp_path, space=str(space), sampler=sampler, trials=2, max_epochs=1)
    first, second = ledger(tmp_path).trials
    assert {k: first.sampled[k] for k in ("cell", "hidden_size", "lr")} == {
        "cell": "lstm",
        "hidden_size": 13,
        "lr": 0.01,
    }
    assert first.first_trial is True and second.first_trial is False
    search(tmp_path, space=str(space), sampler=sampler, trials=3, max_epochs=1)
    study = ledger(tmp_path)
    assert [t.status for t in study.trials] == [TrialStatus.COMPLETE] * 3
    assert [t.first_trial for t in study.trials] == [True, False, False]
