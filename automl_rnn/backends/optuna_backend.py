"""The Optuna backend (the embedded default): samples with the space's ``suggest``, runs
:func:`automl_rnn.search.runner.run_trial`, translates its reports into Optuna pruning.

Workers are processes on this machine sharing the workspace's journal storage; each limits its
torch threads to its share of the cores.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import multiprocessing
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState as OptunaState

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.errors import ConfigError
from automl_rnn.search.objectives import Objective
from automl_rnn.search.outcome import Decision, TrialResult, TrialState
from automl_rnn.search.plan import SearchPlan
from automl_rnn.search.runner import TrialContext, run_trial, trial_seed
from automl_rnn.search.storage import (
    INTERRUPTED,
    checkpoint_dir,
    claims_lock,
    open_storage,
    owner_tag,
    recover_stale_trials,
)
from automl_rnn.signals import ignore_further_interrupts
from automl_rnn.tracking.base import NullTracker, Tracker
from automl_rnn.tracking.mlflow_tracker import MLflowTrialTracker, TrackingTarget

FINISHED = (OptunaState.COMPLETE, OptunaState.PRUNED)


class TrialFailed(Exception):
    """A trial ended FAILED (the reason is recorded on the trial); :func:`run_trials` tells the
    study so and goes on."""


class OptunaReporter:
    """Reporter over an Optuna trial: ``trial.report`` + ``should_prune`` (single objective only).

    The last epoch (``last_epoch``, 0-based) is reported but never pruned: the trial has trained
    its whole budget by then, and pruning it would save nothing and throw its model away
    (Hyperband puts a rung there when the budget is a multiple of its first rung, e.g. 39 of 40).
    """

    def __init__(self, trial: optuna.Trial, prunable: bool, last_epoch: int | None = None) -> None:
        self.trial = trial
        self.prunable = prunable
        self.last_epoch = last_epoch

    def report(self, epoch: int, value: float) -> Decision:
        if not self.prunable or not math.isfinite(value):
            return Decision.CONTINUE
        self.trial.report(value, epoch)
        if self.last_epoch is not None and epoch >= self.last_epoch:
            return Decision.CONTINUE
        return Decision.PRUNE if self.trial.should_prune() else Decision.CONTINUE


def make_sampler(name: str, seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    """TPE (multivariate, grouped for conditional spaces) by default; random; GP; CMA-ES.

    ``seed`` is taken modulo 2**32 (numpy's range): workers and resumed studies offset the
    search seed, and a seed near the top would otherwise overflow.
    """
    seed %= 2**32
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    needs = {"gp": "scipy", "cmaes": "cmaes"}.get(name)
    if needs is not None and importlib.util.find_spec(needs) is None:
        raise ConfigError(f"--sampler {name} needs the '{needs}' package: pip install {needs}")
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    startup = min(10, max(3, (n_trials or 30) // 3))
    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, group=True, n_startup_trials=startup, constant_liar=True
    )


def make_pruner(name: str, max_epochs: int) -> optuna.pruners.BasePruner:
    """Hyperband on the per-epoch objective by default; median; none.

    Hyperband's first rung is at a third of the epoch budget: the configurations that end best
    (longer windows, more units) learn slower in their first epochs, and an earlier rung pruned
    exactly them (``bench/search_efficiency.py``: a first rung at 1/8 of the budget needed 1.07x
    random search's compute to reach its best and ended 4 % worse; at 1/3, 0.68x and 1 % better).
    """
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if name == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.HyperbandPruner(
        min_resource=max(2, max_epochs // 3), max_resource=max_epochs, reduction_factor=3
    )


def record(trial: optuna.Trial, result: TrialResult) -> None:
    """Store the runner's result on the Optuna trial (read back by ``best`` / ``status``)."""
    trial.set_user_attr("state", result.state.value)
    trial.set_user_attr("params", result.params)
    trial.set_user_attr("metrics", {k: v for k, v in result.metrics.items() if math.isfinite(v)})
    if result.reason:
        trial.set_user_attr("reason", result.reason)
    if result.checkpoint:
        trial.set_user_attr("checkpoint", result.checkpoint)
    if result.history:
        trial.set_user_attr("curves", curves(result.history))


#: Per-epoch metrics kept on the Optuna trial (compact; MLflow holds every curve in full).
CURVE_METRICS = ("train_loss", "val_loss", "val_metric")


def curves(history: list[dict[str, float]]) -> dict[str, list[float | None]]:
    """``{metric: [value per epoch]}`` for :data:`CURVE_METRICS` (None where not finite)."""
    return {
        name: [
            round(v, 6) if (v := epoch.get(name)) is not None and math.isfinite(v) else None
            for epoch in history
        ]
        for name in CURVE_METRICS
        if any(name in epoch for epoch in history)
    }


def make_objective(
    spec: ExperimentSpec, plan: SearchPlan, target: TrackingTarget | None = None
) -> Callable[[optuna.Trial], Any]:
    """The Optuna objective: sample, run the trial (tracked when ``target`` is given), translate
    its outcome."""
    objectives: tuple[Objective, ...] = tuple(plan.objectives)
    prunable = len(objectives) == 1 and spec.pruner != "none"
    folder = checkpoint_dir(spec.workspace_path, spec.study_name)

    def objective(trial: optuna.Trial) -> Any:
        owner = owner_tag()
        trial.set_user_attr("owner", owner)
        seed = trial_seed(spec.seed, trial.number)
        trial.set_user_attr("seed", seed)
        params = plan.space.suggest(trial)
        context = TrialContext(trial.number, seed, objectives, folder)
        tracker = _tracker(trial, target, owner, objectives[0])
        reporter = OptunaReporter(trial, prunable, last_epoch=spec.max_epochs - 1)
        try:
            result = run_trial(spec, params, reporter, tracker, context)
        except BaseException:  # Ctrl-C / SIGTERM mid-trial: the run ends KILLED, never RUNNING
            ignore_further_interrupts()
            tracker.abort("KILLED")
            trial.set_user_attr("state", "failed")
            trial.set_user_attr("reason", INTERRUPTED)
            # Not finished, so not tried: a resumed search runs these parameters first (as it
            # does for a worker that was killed outright).
            with contextlib.suppress(Exception):
                trial.study.enqueue_trial(
                    trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False
                )
            raise
        record(trial, result)
        if result.state is TrialState.PRUNED:
            raise optuna.TrialPruned(result.reason)
        if result.state is TrialState.FAILED:
            raise TrialFailed(result.reason)
        assert result.values is not None
        return result.values[0] if len(result.values) == 1 else result.values

    return objective


def _tracker(
    trial: optuna.Trial, target: TrackingTarget | None, owner: str, first: Objective
) -> Tracker:
    """The trial's MLflow child run (its id stored on the trial as soon as it exists)."""
    if target is None:
        return NullTracker()

    def is_best(result: TrialResult) -> bool:
        if result.values is None:
            return False
        done = trial.study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,))
        seen = [t.values[0] for t in done if t.values]
        if not seen:
            return True
        value = result.values[0]
        return value < min(seen) if first.direction == "minimize" else value > max(seen)

    return MLflowTrialTracker(
        target,
        trial.number,
        owner,
        is_best=is_best,
        on_start=lambda run_id: trial.set_user_attr("mlflow_run_id", run_id),
    )


def create_study(spec: ExperimentSpec, plan: SearchPlan, worker: int = 0) -> optuna.Study:
    """Create or load the study in the workspace's shared storage.

    A resumed study's sampler is seeded past the trials it already holds, so a resumed process
    does not replay the random start-up draws of the first run (a fresh study keeps the seed).
    A new study queues the space's ``first_trials`` (worker 0 creates it, before the others).
    """
    # Failed trials are reported by our progress line and summary (with their reason); Optuna
    # would also log each one as a WARNING with a traceback.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    sampler = make_sampler(spec.sampler, spec.seed + worker, spec.trials)
    study = optuna.create_study(
        study_name=spec.study_name,
        storage=open_storage(spec.workspace_path),
        directions=[o.direction for o in plan.objectives],
        sampler=sampler,
        pruner=make_pruner(spec.pruner, spec.max_epochs),
        load_if_exists=True,
    )
    trials = study.get_trials(deepcopy=False)
    held = sum(t.state != OptunaState.WAITING for t in trials)
    if held:
        study.sampler = make_sampler(spec.sampler, spec.seed + worker + 10_007 * held, spec.trials)
    elif not trials and worker == 0:
        for point in plan.space.first_trials:
            study.enqueue_trial(point, user_attrs={"first_trial": True})
    return study


def optimize(
    spec: ExperimentSpec,
    plan: SearchPlan,
    worker: int = 0,
    progress: Callable[[optuna.Study, Any], None] | None = None,
    target: TrackingTarget | None = None,
) -> None:
    """Run trials in this process until the study holds ``spec.trials`` finished trials, the
    timeout passes, or too many trials failed in a row."""
    import torch

    from automl_rnn.perf import tune_allocator

    torch.set_num_threads(spec.threads)
    tune_allocator()
    study = create_study(spec, plan, worker)
    run_trials(
        study,
        make_objective(spec, plan, target),
        trials=spec.trials,
        timeout=spec.timeout,
        workspace=spec.workspace_path,
        failure_limit=max(10, spec.trials or 10),
        progress=progress,
    )


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    *,
    trials: int | None,
    timeout: float | None,
    workspace: Path,
    failure_limit: int,
    progress: Callable[[optuna.Study, Any], None] | None = None,
) -> None:
    """Ask-and-tell until the study holds ``trials`` trials (finished or running), ``timeout``
    seconds have passed, or ``failure_limit`` trials in a row failed.

    The count and the ``ask`` happen under the workspace's claims lock, so parallel
    workers start exactly ``trials`` trials between them; a running trial that later fails
    lowers the count, and a worker then runs one more. ``objective`` raises ``TrialPruned`` or
    :class:`TrialFailed` for those outcomes; anything else it raises fails the trial and ends
    this worker (a Ctrl-C, say).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    streak = 0
    while deadline is None or time.monotonic() < deadline:
        with claims_lock(workspace):
            # A worker that died mid-trial left it RUNNING: fail it and queue its parameters, so
            # it neither counts towards ``trials`` nor is lost.
            recover_stale_trials(study)
            if trials is not None and _claimed(study) >= trials:
                return
            trial = study.ask()
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            frozen = study.tell(trial, state=OptunaState.PRUNED)
        except TrialFailed:
            frozen = study.tell(trial, state=OptunaState.FAIL)
        except (Exception, KeyboardInterrupt):
            with contextlib.suppress(Exception):  # the original error is the one to see
                study.tell(trial, state=OptunaState.FAIL)
            raise
        else:
            frozen = study.tell(trial, value)
        if progress is not None:
            progress(study, frozen)
        streak = streak + 1 if frozen.state == OptunaState.FAIL else 0
        if streak >= failure_limit:
            study.set_user_attr("stopped", f"{failure_limit} trials failed in a row")
            return


def _claimed(study: optuna.Study) -> int:
    """Trials that count towards ``--trials``: finished or running (queued ones do not)."""
    return len(study.get_trials(deepcopy=False, states=(*FINISHED, OptunaState.RUNNING)))


def _worker_main(spec_json: str, worker: int, target: TrackingTarget | None) -> None:
    """Entry point of a worker process (Ctrl-C / SIGTERM end it quietly: its runs are KILLED)."""
    from automl_rnn.search.plan import make_plan

    _die_with_parent()
    spec = ExperimentSpec.model_validate_json(spec_json)
    try:
        optimize(spec, make_plan(spec), worker, target=target)
    except KeyboardInterrupt:
        sys.exit(130)


def _die_with_parent() -> None:
    """Ask Linux to send this worker SIGTERM when its driver dies (even by SIGKILL), so no worker
    trains on unattended; elsewhere a no-op (an orphan ends after its trial budget)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import os
    import signal

    driver = multiprocessing.parent_process()
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if driver is not None and os.getppid() != driver.pid:  # it died before the request held
        os._exit(143)  # nothing started yet: no trial, no run to clean up


def start_workers(
    spec: ExperimentSpec, indices: range, target: TrackingTarget | None = None
) -> list[Any]:
    """Start worker processes ``indices``, sharing the study's storage.

    On Linux they fork from the driver before it trains anything (no thread pool has started
    yet), so a worker starts in milliseconds with the imports and the prepared data in hand;
    elsewhere they are spawned (a fresh interpreter re-imports and re-prepares).
    """
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context: Any = multiprocessing.get_context(method)
    processes = [
        context.Process(target=_worker_main, args=(spec.model_dump_json(), i, target))
        for i in indices
    ]
    for process in processes:
        process.start()
    return processes


def join_workers(processes: list[Any], stop: bool = False) -> list[int]:
    """Wait for the workers (or terminate them, on ``stop``); return their exit codes."""
    for process in processes:
        if stop and process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=60 if stop else None)
        if process.is_alive():  # stuck in cleanup: its runs are closed by the next command
            process.kill()
            process.join()
    return [p.exitcode or 0 for p in processes]
