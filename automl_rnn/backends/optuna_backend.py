"""The Optuna backend (the embedded default): worker processes on this machine sample with the
space's ``suggest`` and Optuna's sampler, prune with Optuna's pruner, and share the workspace's
storage. Sampler and pruner are this backend's options.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import optuna
from optuna.trial import TrialState as OptunaState

from automl_rnn.backends.base import Budget, SearchJob
from automl_rnn.backends.execute import execute_trial
from automl_rnn.backends.local_workers import join_workers, report_dead, start_workers
from automl_rnn.errors import ConfigError
from automl_rnn.search.ledger import Direction, Ledger
from automl_rnn.search.records import OWNER_GRACE_S, TrialRecord
from automl_rnn.trial.outcome import Decision, TrialState

if TYPE_CHECKING:
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.trial.objectives import Objective

#: Seconds between looks at a trial another worker may still be starting.
STARTING_POLL_S = 1.0

_TOLD = {
    TrialState.COMPLETE: OptunaState.COMPLETE,
    TrialState.PRUNED: OptunaState.PRUNED,
    TrialState.FAILED: OptunaState.FAIL,
}


class OptunaReporter:
    """Reporter over an Optuna trial: ``trial.report`` + ``should_prune`` (single objective only).

    The last epoch (``last_epoch``, 0-based) is reported but never pruned: the trial has trained
    its whole budget by then, and pruning it would save nothing and throw its model away
    (Hyperband puts a rung there when the budget is a multiple of its first rung, e.g. 39 of 40).
    """

    def __init__(
        self,
        trial: optuna.Trial,
        objective: Objective,
        prunable: bool,
        last_epoch: int | None = None,
    ) -> None:
        self.trial = trial
        self.objective = objective
        self.prunable = prunable
        self.last_epoch = last_epoch

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        value = metrics.get(self.objective.metric, math.nan)
        if not self.prunable or not math.isfinite(value):
            return Decision.CONTINUE
        self.trial.report(value, epoch)  # in the objective's own direction, as the study's
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


def check_options(spec: ExperimentSpec) -> None:
    """Refuse a sampler whose package is missing (before the study exists)."""
    make_sampler(spec.sampler, spec.seed, spec.trials)


def open_study(ledger: Ledger, spec: ExperimentSpec, worker: int) -> optuna.Study:
    """The ledger's study with this worker's sampler and the search's pruner.

    A resumed study's sampler is seeded past the trials it already holds, so a resumed process
    does not replay the random start-up draws of the first run (a fresh study keeps the seed).
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our progress line reports failures
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    held = sum(t.state != OptunaState.WAITING for t in ledger.study.get_trials(deepcopy=False))
    seed = spec.seed + worker + (10_007 * held if held else 0)
    return optuna.load_study(
        study_name=ledger.name,
        storage=ledger.storage,
        sampler=make_sampler(spec.sampler, seed, spec.trials),
        pruner=make_pruner(spec.pruner, spec.max_epochs),
    )


def optimize(job: SearchJob, worker: int = 0) -> None:
    """Run trials in this process until the budget is spent (see :class:`Budget`).

    The count and the ``ask`` happen under the workspace's claims lock, so parallel workers
    start exactly ``--trials`` trials between them; a running trial that later fails lowers the
    count, and a worker then runs one more. A counted trial that has no owner yet (a worker is
    starting it, or died before its first write: its disk full, say) is waited for until it is
    owned or stale, at most :data:`OWNER_GRACE_S` by this process's own clock, so that a search
    resumed right after a crash does not end a trial short.
    """
    import torch

    from automl_rnn.perf import tune_allocator

    spec = job.spec
    torch.set_num_threads(spec.threads)
    tune_allocator()
    ledger = _ledger(job)
    study = open_study(ledger, spec, worker)
    budget = Budget(spec.trials, spec.timeout)
    objectives = job.plan.objectives
    prunable = len(objectives) == 1 and spec.pruner != "none"
    waiting: dict[int, float] = {}  # unowned trials the budget counts: when first seen
    while not budget.expired():
        with ledger.claims():  # every machine's workers, on a shared database
            ledger.recover_stale()  # a worker that died mid-trial: fail it, queue its params
            snapshot = ledger.snapshot()
            full = budget.full(snapshot.claimed())
            if full and not _still_starting(snapshot.starting(), waiting):
                return
            trial = None if full else study.ask()
        if trial is None:
            time.sleep(STARTING_POLL_S)
            continue
        try:
            params = job.plan.space.suggest(trial)
            last = spec.max_epochs - 1
            reporter = OptunaReporter(trial, objectives[0], prunable, last_epoch=last)
            result = execute_trial(job, ledger, trial.number, params, trial.params, reporter)
        except BaseException:
            with contextlib.suppress(Exception):  # the original error is the one to see
                study.tell(trial, state=OptunaState.FAIL)
            raise
        study.tell(trial, result.values, state=_TOLD[result.state])
        if job.on_trial_end is not None:
            job.on_trial_end()
        stop = budget.note(result.state is TrialState.FAILED)
        if stop:
            ledger.set_stopped(stop)
            return


def _still_starting(starting: list[TrialRecord], waiting: dict[int, float]) -> bool:
    """Whether to wait for one of ``starting`` (trials without an owner yet): not past
    :data:`OWNER_GRACE_S` since this process first saw it (its own clock: a database's start
    times come from each machine's local clock), then they turn stale and are run again."""
    now = time.monotonic()
    for trial in starting:
        waiting.setdefault(trial.number, now)
    return any(now - waiting[t.number] < OWNER_GRACE_S for t in starting)


def _directions(job: SearchJob) -> list[Direction]:
    return [o.direction for o in job.plan.objectives]


def _ledger(job: SearchJob) -> Ledger:
    spec = job.spec
    return Ledger.create(spec.workspace_path, spec.study_name, _directions(job), spec.storage)


def _worker_main(job: SearchJob, worker: int) -> None:
    """A worker process (forked: the driver's job, prepared data included, comes for free)."""
    optimize(SearchJob(job.spec, job.plan, job.target), worker)


class OptunaBackend:
    """Worker 0 runs in the driver process (it has the data and imports already); the others are
    forked. A worker that dies mid-trial costs no trial: its trial is failed and run again."""

    name = "optuna"

    def run(self, job: SearchJob) -> None:
        spec = job.spec
        main = functools.partial(_worker_main, job)
        budget = Budget(spec.trials, spec.timeout)
        others = start_workers(main, range(1, spec.workers))
        try:
            optimize(job, 0)
            if report_dead(join_workers(others)):
                self._finish_for_dead(job, budget)
        except BaseException:
            join_workers(others, stop=True)
            with contextlib.suppress(Exception):  # a worker killed in its cleanup left a trial
                _ledger(job).recover_stale()
            raise

    @staticmethod
    def _finish_for_dead(job: SearchJob, budget: Budget) -> None:
        """A worker died: its trial counted as running until now. Fail it, run its parameters
        again, and finish the search here with the time left."""
        spec = job.spec
        _ledger(job).recover_stale()
        rest = budget.time_left()
        if rest is None or rest > 0:
            again = spec.model_copy(update={"timeout": rest})
            optimize(SearchJob(again, job.plan, job.target, job.on_trial_end), 0)


BACKEND = OptunaBackend()
