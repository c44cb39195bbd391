"""What every backend guarantees, checked through real tiny searches on each of :data:`BACKENDS`.

Each search runs ``automl_rnn.api.search`` with ``backend=`` set, training real models on the fast
``sine_mix`` task in a ``tmp_path`` workspace. Results are read only as the ledger's records
(``Ledger.open(...).snapshot()``) and through ``api.best`` / ``api.status``, never from the storage
itself: a backend is free in how it runs trials, not in what it records. A new backend joins by
adding its name to :data:`BACKENDS`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from automl_rnn import api
from automl_rnn import metric_names as M
from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data import prepare
from automl_rnn.data.prepared import PreparedData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, UserError
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.search.ledger import INTERRUPTED, WORKER_DIED, Ledger
from automl_rnn.search.objectives import resolve_objectives
from automl_rnn.search.plan import make_plan
from automl_rnn.search.records import StudySnapshot, TrialRecord, TrialStatus
from automl_rnn.search.storage import journal_path
from automl_rnn.signals import interrupt_handlers, restore_interrupts
from automl_rnn.trial.outcome import NeverPrune, NullTracker, TrialResult, TrialState
from automl_rnn.trial.runner import TrialContext, run_trial, trial_seed

#: The backends every test here runs on, and their marks (ray: on the session's Ray, slow).
BACKENDS = ["optuna", "ray"]
MARKS = {"ray": (pytest.mark.ray, pytest.mark.slow)}

SPACES = Path(__file__).parents[1] / "fixtures" / "spaces"
FORECAST_TEST_METRICS = ("test_mae", "test_mase", "test_rel_mae")
FINISHED = (TrialStatus.COMPLETE, TrialStatus.PRUNED)
#: A tiny quick search: no MLflow (tracking has its own contract tests), two epochs.
TINY: dict[str, Any] = {"space": "tiny", "max_epochs": 2, "tracking": False}


@pytest.fixture(scope="module", params=[pytest.param(b, marks=MARKS.get(b, ())) for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend the searches of a test run on (ray: on the session's Ray, see conftest)."""
    if request.param == "ray":
        request.getfixturevalue("ray_runtime")
    return str(request.param)


def search(backend: str, workspace: Path, **overrides: Any) -> dict[str, Any]:
    """One quiet search on ``sine_mix`` with ``backend`` in ``workspace`` (seed 0 by default)."""
    given = {"task": "sine_mix", "workspace": str(workspace), "seed": 0, **overrides}
    return api.search({**given, "backend": backend}, progress=False)


def ledger(workspace: Path, name: str = "sine_mix") -> StudySnapshot:
    return Ledger.open(workspace, name).snapshot()


def numbers(trials: list[TrialRecord]) -> list[int]:
    return [t.number for t in trials]


# ---- COMPLETE ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def completed(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    workspace = tmp_path_factory.mktemp(f"complete-{backend}")
    summary = search(backend, workspace, **TINY, trials=2)
    return workspace, summary


def test_complete_trials_record_values_params_metrics_and_seed(
    completed: tuple[Path, dict[str, Any]],
) -> None:
    workspace, summary = completed
    assert summary["counts"]["complete"] == 2
    assert summary["counts"]["pruned"] == summary["counts"]["failed"] == 0
    study = ledger(workspace)
    assert study.counts() == {**summary["counts"], "running": 0, "waiting": 0}
    trials = study.by_status(TrialStatus.COMPLETE)
    assert numbers(trials) == [0, 1] and len(study.trials) == 2  # exactly the trials asked for
    for trial in trials:
        assert trial.value is not None and math.isfinite(trial.value)
        assert trial.reason is None
        assert trial.seed == trial_seed(0, trial.number)
        # The trained parameters: the sampled ones, with the runner's defaults filled in.
        assert {k: trial.params[k] for k in trial.sampled} == trial.sampled
        assert trial.params["cell"] in ("gru", "lstm") and 8 <= trial.params["hidden_size"] <= 16
        metrics = trial.metrics
        for name in FORECAST_TEST_METRICS:
            assert math.isfinite(metrics[name]) and metrics[name] >= 0, name
        assert metrics["test_rel_mae"] == pytest.approx(
            metrics["test_mae"] / metrics["test_snaive_mae"]
        )
        # The objective (val_mae, the forecast default) is the best epoch's validation MAE.
        assert trial.value == pytest.approx(metrics[f"best_{M.VAL_METRIC}"])
        assert metrics["epochs"] == 2
        # Every epoch's curve is kept, and the value is its best epoch.
        assert [len(trial.curves[name]) for name in ("train_loss", "val_loss")] == [2, 2]
        assert trial.value == pytest.approx(
            min(v for v in trial.curves["val_metric"] if v is not None)
        )
        assert trial.started is not None and trial.completed is not None
    assert summary["best"]["value"] == min(t.value for t in trials if t.value is not None)


def test_complete_trial_checkpoint_loads_into_the_trained_network(
    completed: tuple[Path, dict[str, Any]],
) -> None:
    workspace, _ = completed
    prepared = prepare(DataSource.from_args({"task": "sine_mix"}))
    for trial in ledger(workspace).by_status(TrialStatus.COMPLETE):
        assert trial.checkpoint is not None
        path = Path(trial.checkpoint)
        assert path.is_file() and path.is_relative_to(workspace)
        state = torch.load(path, weights_only=True)
        assert state and all(torch.isfinite(v).all() for v in state.values())
        params = trial.params
        arch = ArchConfig(**{f.name: params[f.name] for f in dataclasses.fields(ArchConfig)})
        net = build_network(arch, prepared.shape(str(params["topology"])))
        net.load_state_dict(state, strict=True)  # the best epoch's weights of this very network


def test_best_and_status_name_the_best_completed_trial(
    completed: tuple[Path, dict[str, Any]],
) -> None:
    workspace, summary = completed
    study = ledger(workspace)
    top = min(study.by_status(TrialStatus.COMPLETE), key=lambda t: (t.value, t.number))
    record = api.best("sine_mix", str(workspace))
    assert (record["trial"], record["value"]) == (top.number, top.value)
    assert record["params"] == top.params and record["checkpoint"] == top.checkpoint
    assert summary["best"]["trial"] == top.number
    status = api.status("sine_mix", str(workspace))
    assert status["best"]["trial"] == top.number
    assert status["counts"] == study.counts() and status["stale_trials"] == []


def test_two_objectives_give_a_best_trial_on_the_pareto_front(backend: str, tmp_path: Path) -> None:
    summary = search(backend, tmp_path, **TINY, trials=3, objectives="val_loss,params")
    assert summary["objectives"] == ["val_loss", "params"]
    study = ledger(tmp_path)
    done = study.by_status(TrialStatus.COMPLETE)
    assert len(done) == 3 and all(t.values is not None and len(t.values) == 2 for t in done)
    for trial in done:
        assert trial.values is not None and trial.values[1] == trial.metrics["params"]
    front = study.pareto_front()
    for trial in front:  # both minimised: nothing completed is as good everywhere and better
        assert not any(dominates(list(o.values or ()), list(trial.values or ())) for o in done)
    record = api.best("sine_mix", str(tmp_path))
    assert record["trial"] == front[0].number and record["values"] == list(front[0].values or ())
    assert [p["trial"] for p in record["pareto_front"]] == numbers(front)
    assert summary["best"]["trial"] == record["trial"]


def dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and a != b


def test_parallel_workers_finish_exactly_the_requested_trials(backend: str, tmp_path: Path) -> None:
    if backend == "ray":  # no local --workers: --max-concurrent, covered in tests/e2e
        pytest.skip(
            "ray: test_ray_backend.py::test_ray_search_finishes_exactly_the_requested_trials"
        )
    summary = search(backend, tmp_path, **TINY, trials=3, workers=2, pruner="none")
    study = ledger(tmp_path)
    assert summary["counts"]["complete"] == 3
    assert (
        numbers(study.by_status(TrialStatus.COMPLETE)) == [0, 1, 2] == numbers(list(study.trials))
    )


# ---- PRUNED ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_default_pruner_prunes_poor_trials_early(backend: str, tmp_path: Path) -> None:
    """The default pruning on a space where most learning rates are poor: some trials stop
    before ``max_epochs`` and are recorded PRUNED; pruned and complete trials both count."""
    max_epochs = 4
    wide_lr = {**TINY, "space": str(SPACES / "wide_lr.yaml"), "max_epochs": max_epochs}
    summary = search(backend, tmp_path, **wide_lr, trials=8)
    counts = summary["counts"]
    assert counts["complete"] + counts["pruned"] == 8
    assert counts["failed"] == counts["running"] == 0
    assert counts["pruned"] >= 1 and counts["complete"] >= 1
    study = ledger(tmp_path)
    pruned = study.by_status(TrialStatus.PRUNED)
    assert len(pruned) == counts["pruned"]
    for trial in pruned:
        assert trial.reason is not None and trial.reason.startswith("pruned at epoch ")
        assert trial.values is None and trial.checkpoint is None
        assert trial.metrics["epochs"] < max_epochs
        assert len(trial.curves["val_metric"]) == trial.metrics["epochs"]  # stopped early
    for trial in study.by_status(TrialStatus.COMPLETE):
        assert len(trial.curves["val_metric"]) == max_epochs


# ---- FAILED ------------------------------------------------------------------------------------


def test_failing_trials_are_counted_with_reasons_and_capped(backend: str, tmp_path: Path) -> None:
    """Every configuration diverges: the search returns normally, counts the failures with their
    reasons, and the failure cap stops it (finished trials can never reach ``trials``)."""
    summary = search(
        backend, tmp_path, **{**TINY, "space": str(SPACES / "diverging.yaml")}, trials=2
    )
    counts = summary["counts"]
    assert counts["complete"] == counts["pruned"] == counts["running"] == 0
    assert counts["failed"] >= 1
    assert summary["best"] is None
    assert "stopped" in summary
    reasons = summary["failure_reasons"]
    assert sum(reasons.values()) == counts["failed"]
    assert all(reason.startswith("diverged: ") for reason in reasons), reasons
    study = ledger(tmp_path)
    assert len(study.trials) == counts["failed"] <= 64  # stopped, not looping
    assert study.info.stopped == summary["stopped"]
    for trial in study.trials:
        assert trial.status is TrialStatus.FAILED
        assert trial.reason is not None and trial.reason.startswith("diverged: ")
        assert trial.checkpoint is None and trial.values is None
    with pytest.raises(UserError, match="no completed trial"):
        api.best("sine_mix", str(tmp_path))


def test_space_no_model_can_satisfy_is_refused_before_any_trial(
    backend: str, tmp_path: Path
) -> None:
    """seq2seq cannot be bidirectional: the loader refuses the space (naming the file and the
    parameter) before a study exists, instead of failing every trial."""
    space = SPACES / "seq2seq_bidirectional.yaml"
    with pytest.raises(ConfigError, match="bidirectional") as raised:
        search(backend, tmp_path, space=str(space), trials=2, max_epochs=2)
    assert str(space) in str(raised.value)
    assert not journal_path(tmp_path).exists()


# ---- a dead worker, an interrupt, a resume -----------------------------------------------------


def dead_owner() -> str:
    """The owner tag of a process that has exited (start time 0 matches no live process)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:0"


def test_a_dead_workers_trial_is_failed_and_run_again_with_the_same_params(
    backend: str, tmp_path: Path
) -> None:
    """A trial left RUNNING by a process that died: the next search fails it, runs its
    parameters again, and still ends with ``trials`` finished trials."""
    spec = ExperimentSpec(task="sine_mix", space="tiny", workspace=str(tmp_path))
    stuck = Ledger.create(tmp_path, "sine_mix", ["minimize"])
    trial = stuck.study.ask()
    make_plan(spec).space.suggest(trial)  # what a worker had drawn when it died
    stuck.handle(trial.number).start(dead_owner(), seed=trial_seed(0, trial.number))

    summary = search(backend, tmp_path, **TINY, trials=2)
    assert summary["recovered_trials"] == [trial.number]
    study = ledger(tmp_path)
    dead = study.trials[trial.number]
    assert dead.status is TrialStatus.FAILED and dead.reason == WORKER_DIED
    assert len(study.by_status(*FINISHED)) == 2
    assert not study.by_status(TrialStatus.RUNNING, TrialStatus.WAITING)
    (retry,) = [t for t in study.trials if t.retry_of == trial.number]
    assert retry.status in FINISHED and retry.sampled == dead.sampled == trial.params


@pytest.fixture
def keep_interrupt_handlers() -> Iterator[None]:
    """Put Ctrl-C / SIGTERM handling back as it was, whatever the test's search left."""
    handlers = interrupt_handlers()
    yield
    restore_interrupts(handlers)


def interrupt_once_a_trial_trains(workspace: Path, stop: threading.Event) -> None:
    """Send this process SIGINT (a Ctrl-C) once a trial of the search runs with its owner."""
    deadline = time.monotonic() + 300
    while not stop.is_set() and time.monotonic() < deadline:
        found = Ledger.find(workspace, "sine_mix")
        if found is not None and any(
            t.owner for t in found.snapshot().by_status(TrialStatus.RUNNING)
        ):
            time.sleep(0.5)  # well inside its training
            break
        time.sleep(0.1)
    if not stop.is_set():
        os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.usefixtures("keep_interrupt_handlers")
def test_an_interrupted_trial_is_failed_and_runs_again_first_on_resume(
    backend: str, tmp_path: Path
) -> None:
    """Ctrl-C mid-trial: the search re-raises, leaves no trial RUNNING, fails the trial as
    interrupted and queues its parameters; the resumed search runs them first."""
    stop = threading.Event()
    watcher = threading.Thread(target=interrupt_once_a_trial_trains, args=(tmp_path, stop))
    watcher.start()
    try:
        one_at_a_time = {"max_concurrent": 1} if backend == "ray" else {}  # one trial to cut
        with pytest.raises(KeyboardInterrupt):  # trials long enough to be cut
            long = {**TINY, "max_epochs": 60, **one_at_a_time}
            search(backend, tmp_path, **long, trials=3, pruner="none")
    finally:
        stop.set()
        watcher.join()
    study = ledger(tmp_path)
    assert not study.by_status(TrialStatus.RUNNING)
    (cut,) = study.by_status(TrialStatus.FAILED)
    assert cut.reason == INTERRUPTED and cut.sampled
    (queued,) = study.by_status(TrialStatus.WAITING)
    assert queued.retry_of == cut.number and len(study.trials) == cut.number + 2

    summary = search(backend, tmp_path, **TINY, trials=cut.number + 1, pruner="none")
    study = ledger(tmp_path)
    assert summary["counts"] == study.counts() and study.counts()["failed"] == 1
    assert not study.by_status(TrialStatus.RUNNING, TrialStatus.WAITING)
    retry = study.trials[queued.number]
    assert retry.status in FINISHED and retry.retry_of == cut.number
    assert retry.sampled == cut.sampled
    assert len(study.trials) == cut.number + 2  # the retry was the one trial run


def test_a_resume_runs_only_the_missing_trials_and_drops_the_previous_stop_note(
    backend: str, tmp_path: Path
) -> None:
    summary = search(backend, tmp_path, **TINY, trials=1)
    assert "stopped" not in summary
    (first,) = ledger(tmp_path).trials
    Ledger.open(tmp_path, "sine_mix").set_stopped("10 trials failed in a row")  # a failed run's
    again = search(backend, tmp_path, **TINY, trials=2)
    assert again["counts"]["complete"] + again["counts"]["pruned"] == 2
    assert "stopped" not in again and ledger(tmp_path).info.stopped is None
    kept, added = ledger(tmp_path).trials
    assert kept == first  # the finished trial is kept as it was, not run again
    assert added.number == 1 and added.status in FINISHED


# ---- the shared trial runner: a trial's error never ends a search ------------------------------


@pytest.fixture(scope="module")
def sine_mix() -> PreparedData:
    return prepare(DataSource.from_args({"task": "sine_mix"}))


def one_trial(prepared: PreparedData, params: dict[str, Any], seed: int = 123) -> TrialResult:
    spec = ExperimentSpec(task="sine_mix", max_epochs=2, trials=1)
    objectives = tuple(resolve_objectives(["val_mae"], "forecast"))
    context = TrialContext(0, seed, objectives)
    return run_trial(spec, prepared, params, NeverPrune(), NullTracker(), context)


DIVERGING: dict[str, Any] = {"topology": "seq2vec", "cell": "rnn_relu", "hidden_size": 32}
DIVERGING |= {"lr": 10.0, "grad_clip": None, "scaling": "global", "seq_len": 24}


@pytest.mark.parametrize("seed", [0, 1])
def test_diverging_trial_is_failed_never_complete(sine_mix: PreparedData, seed: int) -> None:
    result = one_trial(sine_mix, DIVERGING, seed)
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
    sine_mix: PreparedData, params: dict[str, Any], prefix: str
) -> None:
    result = one_trial(sine_mix, params)
    assert result.state is TrialState.FAILED
    assert result.reason is not None and result.reason.startswith(prefix), result.reason
    assert "\n" not in result.reason
    assert result.values is None
