"""The Ray backend's driver side: parameters asked from the ledger, results written to it.

:class:`LedgerSearcher` is Tune's searcher: each suggestion is a trial asked from the study's
Optuna sampler over the workspace's ledger and sampled by the space's one ``suggest`` function, so
a conditional space behaves exactly as under the Optuna backend (queued retries run first).
:class:`LedgerCallback` runs in the driver for every trial event: it records the outcome in the
ledger (a scheduler-stopped trial as PRUNED, never COMPLETE with a truncated value), copies the
best weights into the workspace's checkpoint folder, and writes MLflow (one child run per trial
under the search's parent, per-epoch curves logged once each even when Ray re-runs a trial).
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ray.tune import Callback
from ray.tune.search import Searcher

from automl_rnn.backends.base import Budget
from automl_rnn.backends.ray_trainable import (
    EPOCH_KEY,
    NODE_KEY,
    NUMBER_KEY,
    PARAMS_KEY,
    RESULT_KEY,
    RESUME_KEY,
    WEIGHTS,
    load_result,
)
from automl_rnn.ownership import owner_tag
from automl_rnn.search.ledger import NODE_LOST, Ledger
from automl_rnn.search.records import TrialStatus
from automl_rnn.search.storage import checkpoint_dir
from automl_rnn.trial.outcome import (
    OUT_OF_MEMORY,
    LocalCheckpoints,
    Tracker,
    TrialResult,
    TrialState,
)
from automl_rnn.trial.runner import trial_seed

if TYPE_CHECKING:
    import optuna
    from ray import tune
    from ray.tune.experiment import Trial

    from automl_rnn.backends.base import SearchJob

#: Failure reason of a trial Ray gave up on for another cause than a lost node or process (it
#: raised outside the trial runner, more often than ``FailureConfig(max_failures)`` allows).
RAY_ERROR = "error: Ray trial failed after retries"
#: How often (seconds) the searcher looks for trials a dead process left RUNNING.
RECOVERY_INTERVAL_S = 2.0
#: Ray's names and words for a trial whose worker process or node went away, read from its error
#: text where Ray kept no pickled error yet (the text of an ``ActorDiedError`` need not name it).
_LOST_MARKERS = (
    "ActorDiedError",
    "RayActorError",
    "NodeDiedError",
    "WorkerCrashedError",
    "The actor died unexpectedly",
    "its worker process has died",
)


class LedgerSearcher(Searcher):
    """Tune searcher over the ledger (see the module docstring)."""

    def __init__(self, job: SearchJob, study: optuna.Study, metric: str, mode: str) -> None:
        super().__init__(metric=metric, mode=mode)
        self.job = job
        self.study = study
        self.ledger = Ledger(study._storage, study, job.spec.workspace_path)
        self.budget = Budget(job.spec.trials, None)
        self.next_recovery = 0.0

    def suggest(self, trial_id: str) -> dict[str, object] | None:
        spec, ledger = self.job.spec, self.ledger
        if time.monotonic() >= self.next_recovery:
            # A trial a dead driver left RUNNING (perhaps not yet owned, so only stale after a
            # grace period) would hold its place in the budget for ever: fail it, queue it again.
            self.next_recovery = time.monotonic() + RECOVERY_INTERVAL_S
            with ledger.claims():
                ledger.recover_stale()
        snapshot = ledger.snapshot()
        full = self.budget.full(ledger.claimed()) or snapshot.info.stopped is not None
        if full:
            running = snapshot.by_status(TrialStatus.RUNNING)
            # Searcher.FINISHED (a string, typed otherwise by Ray) ends the search.
            return None if running else Searcher.FINISHED  # type: ignore[return-value]
        with ledger.claims():
            trial = self.study.ask()
        handle = ledger.handle(trial.number)
        handle.start(owner_tag(), trial_seed(spec.seed, trial.number))
        params = self.job.plan.space.suggest(trial)
        config: dict[str, object] = {NUMBER_KEY: trial.number, PARAMS_KEY: params}
        resume_from = handle.resume_from()  # a retry of an interrupted trial continues it
        if resume_from:
            config[RESUME_KEY] = resume_from
        return config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, object] | None = None, error: bool = False
    ) -> None:
        """Nothing to do: :class:`LedgerCallback` records the outcome and tells the ledger."""


class LedgerCallback(Callback):
    """Driver-side recorder of every trial's events (see the module docstring)."""

    def __init__(self, job: SearchJob, study: optuna.Study) -> None:
        self.job = job
        self.study = study
        self.ledger = Ledger(study._storage, study, job.spec.workspace_path)
        self.trackers: dict[str, Tracker] = {}
        self.logged: dict[str, int] = {}
        self.history: dict[str, list[dict[str, float]]] = {}
        self.nodes: dict[str, list[str]] = {}
        self.budget = Budget(job.spec.trials, None)

    def _tracker(self, trial: Trial) -> Tracker:
        tracker = self.trackers.get(trial.trial_id)
        if tracker is None:
            tracker = self.trackers[trial.trial_id] = self._new_tracker(trial)
            number = int(trial.config[NUMBER_KEY])
            tracker.start_trial(number, dict(trial.config[PARAMS_KEY]), {"trial": str(number)})
        return tracker

    def _new_tracker(self, trial: Trial) -> Tracker:
        from automl_rnn.trial.outcome import NullTracker

        if self.job.target is None:
            return NullTracker()
        from automl_rnn.tracking.mlflow_tracker import MLflowTrialTracker

        number = int(trial.config[NUMBER_KEY])
        handle = self.ledger.handle(number)

        def is_best(result: TrialResult) -> bool:
            return result.values is not None and self.ledger.snapshot().is_best(result.values)

        return MLflowTrialTracker(
            self.job.target, number, owner_tag(), is_best=is_best, on_start=handle.set_run_id
        )

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: object
    ) -> None:
        self._tracker(trial)

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, object],
        **info: object,
    ) -> None:
        node = result.get(NODE_KEY)
        seen = self.nodes.setdefault(trial.trial_id, [])
        if isinstance(node, str) and node and node not in seen:
            seen.append(node)
        if RESULT_KEY in result:
            return  # the final report: recorded on completion
        epoch = int(str(result.get(EPOCH_KEY, 0)))
        if epoch <= self.logged.get(trial.trial_id, 0):
            return  # a re-run after a lost node: these epochs are logged already
        self.logged[trial.trial_id] = epoch
        names = _epoch_metric_names(self.job)
        metrics = {
            k: float(v) for k, v in result.items() if k in names and isinstance(v, int | float)
        }
        self.history.setdefault(trial.trial_id, []).append(metrics)  # a pruned trial's curves
        self._tracker(trial).log_epoch(epoch - 1, metrics)

    def on_checkpoint(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        checkpoint: tune.Checkpoint,
        **info: object,
    ) -> None:
        """Note the trial's latest snapshot in the ledger: a driver restarted after a crash
        queues the trial again from there."""
        number = int(trial.config[NUMBER_KEY])
        self.ledger.handle(number).set_epoch_checkpoint(checkpoint_uri(checkpoint))

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: object
    ) -> None:
        self._finish(trial, error=False)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: object
    ) -> None:
        self._finish(trial, error=True)

    def _finish(self, trial: Trial, error: bool) -> None:
        number = int(trial.config[NUMBER_KEY])
        last = trial.last_result or {}
        result = self._outcome(trial, number, last, error)
        seen = self.nodes.get(trial.trial_id, [])
        if seen:  # the nodes it ran on, in order (several: Ray moved it after a loss)
            result.tags["nodes"] = ",".join(seen)
        handle = self.ledger.handle(number)
        handle.record(result)
        self._tracker(trial).end_trial(result)
        self._tell(number, result)
        stop = self.budget.note(result.state is TrialState.FAILED)
        if stop:
            self.ledger.set_stopped(stop)
        if self.job.on_trial_end is not None:
            self.job.on_trial_end()

    def _outcome(
        self, trial: Trial, number: int, last: dict[str, object], error: bool
    ) -> TrialResult:
        params = dict(trial.config[PARAMS_KEY])
        text = last.get(RESULT_KEY)
        if isinstance(text, str) and not error:
            result = load_result(text)
            if result.checkpoint:
                result.checkpoint = self._keep_weights(trial, number)
            return result
        seed = trial_seed(self.job.spec.seed, number)
        if error:
            trace = _error_text(trial)
            return TrialResult(
                TrialState.FAILED,
                reason=failure_reason(_pickled_error(trial), trace),
                params=params,
                seed=seed,
                traceback=trace or None,
            )
        epochs = int(str(last.get(EPOCH_KEY, 0)))
        names = _epoch_metric_names(self.job)
        metrics = {  # the epoch it was stopped at (MLflow's curves hold every epoch)
            f"last_{k}": float(v)
            for k, v in last.items()
            if k in names and isinstance(v, int | float) and math.isfinite(v)
        }
        metrics["epochs"] = float(epochs)
        return TrialResult(
            TrialState.PRUNED,
            reason=f"pruned at epoch {max(epochs - 1, 0)}",
            params=params,
            metrics=metrics,
            history=self.history.get(trial.trial_id, []),
            seed=seed,
        )

    def _keep_weights(self, trial: Trial, number: int) -> str | None:
        """Copy the trial's best weights from its Ray checkpoint into the workspace."""
        if trial.checkpoint is None:
            return None
        spec = self.job.spec
        sink = LocalCheckpoints(checkpoint_dir(spec.workspace_path, spec.study_name))
        target = sink.path(number)
        target.parent.mkdir(parents=True, exist_ok=True)
        with trial.checkpoint.as_directory() as folder:
            shutil.copyfile(Path(folder) / WEIGHTS, target)
        return str(target)

    def _tell(self, number: int, result: TrialResult) -> None:
        from optuna.trial import TrialState as OptunaState

        state = {
            TrialState.COMPLETE: OptunaState.COMPLETE,
            TrialState.PRUNED: OptunaState.PRUNED,
            TrialState.FAILED: OptunaState.FAIL,
        }[result.state]
        values = result.values if result.state is TrialState.COMPLETE else None
        self.study.tell(number, values, state=state)


def checkpoint_uri(checkpoint: tune.Checkpoint) -> str:
    """Where a Ray checkpoint is, as a path (local storage) or a URI any node can open."""
    filesystem = checkpoint.filesystem
    scheme = "local" if filesystem is None else filesystem.type_name
    return checkpoint.path if scheme == "local" else f"{scheme}://{checkpoint.path}"


def failure_reason(error: BaseException | None, trace: str) -> str:
    """Why Ray gave up on a trial, from its pickled ``error`` (None where Ray has not stored
    it, or could not unpickle it) and its error text: its worker or node lost
    (:data:`NODE_LOST`), killed by Ray's memory monitor (``OUT_OF_MEMORY``), or another error
    (:data:`RAY_ERROR`)."""
    from ray import exceptions

    lost_types = (exceptions.RayActorError, exceptions.NodeDiedError, exceptions.WorkerCrashedError)
    if isinstance(error, exceptions.OutOfMemoryError) or "OutOfMemoryError" in trace:
        return OUT_OF_MEMORY
    if isinstance(error, lost_types) or any(marker in trace for marker in _LOST_MARKERS):
        return NODE_LOST
    return RAY_ERROR


def _pickled_error(trial: Trial) -> BaseException | None:
    """The error Ray pickled for ``trial`` (None when not stored yet or not unpicklable: the
    text then decides)."""
    try:
        return trial.get_pickled_error()
    except Exception:
        return None


def _error_text(trial: Trial) -> str:
    """Ray's record of why the trial failed (empty when it kept none)."""
    try:
        return Path(trial.error_file).read_text(errors="replace") if trial.error_file else ""
    except OSError:
        return ""


def _epoch_metric_names(job: SearchJob) -> set[str]:
    """The per-epoch metric names a trial reports (Ray adds its own keys beside them)."""
    from automl_rnn import metric_names as M

    return {*M.EPOCH_METRICS, M.VAL_EXACT} | {o.metric for o in job.plan.objectives}
