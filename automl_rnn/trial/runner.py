"""The one trial runner: trains and scores one set of parameters on prepared data, for every backend.

``run_trial(experiment, prepared, params, reporter, tracker, context) -> TrialResult``. Backends
prepare the data, sample the parameters, hand in a reporter (continue / prune after each epoch),
a tracker and a checkpoint sink, and record the result.
"""

from __future__ import annotations

import errno
import gc
import math
import socket
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from pydantic import ValidationError

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data.prepared import PreparedData
from automl_rnn.errors import UserError, storage_problem
from automl_rnn.models.factory import count_parameters
from automl_rnn.models.guard import DivergedError
from automl_rnn.models.module import RecurrentModule
from automl_rnn.training.recipe import Fitted, fit, resolve_params
from automl_rnn.training.resources import ResourceMeter
from automl_rnn.training.snapshot import EpochSnapshot, take
from automl_rnn.trial.evaluate import inference_latency_ms, score
from automl_rnn.trial.objectives import Objective
from automl_rnn.trial.outcome import (
    OUT_OF_MEMORY,
    CheckpointSink,
    Decision,
    EpochCheckpoints,
    Reporter,
    Tracker,
    TrialResult,
    TrialState,
)


@dataclass(frozen=True)
class TrialContext:
    """Where a trial stands in its search: number, seed, objectives, where its best weights go
    (None: nowhere), where its state goes after each epoch (None: nowhere) and the snapshot it
    continues from (None: it starts afresh)."""

    number: int
    seed: int
    objectives: tuple[Objective, ...]
    checkpoints: CheckpointSink | None = None
    epoch_checkpoints: EpochCheckpoints | None = None
    resume: EpochSnapshot | None = None


#: How torch's allocators word a failed allocation (CUDA's, the CPU's, MPS's).
_ALLOCATION_FAILED = ("out of memory", "can't allocate memory", "not enough memory")


def out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a failed allocation: CUDA's ``OutOfMemoryError``, Python's
    ``MemoryError`` or an error worded as an allocator words it (the CPU's "can't allocate
    memory")."""
    if isinstance(err, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    if isinstance(err, OSError) and err.errno == errno.ENOMEM:  # fork, mmap: "Cannot allocate"
        return True
    text = str(err).lower()
    return any(words in text for words in _ALLOCATION_FAILED)


def release_memory() -> None:
    """Give a failed trial's memory back: collect its tensors, then return CUDA's cached
    blocks, so the next trial on that GPU (in this process or another) has them."""
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def trial_seed(search_seed: int, number: int) -> int:
    """A trial's seed, derived from the search seed and the trial number (recorded per trial)."""
    return (search_seed * 1_000_003 + number * 7919 + 17) % (2**31 - 1)


class _EpochWatch:
    """Per-epoch listener: keeps the best epoch's weights, saves the epoch's snapshot, reports,
    stops on patience or prune."""

    def __init__(
        self,
        objective: Objective,
        reporter: Reporter,
        tracker: Tracker,
        patience: int | None,
        context: TrialContext,
    ) -> None:
        self.objective = objective
        self.reporter = reporter
        self.tracker = tracker
        self.patience = patience
        self.context = context
        self.best_value = math.inf
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.pruned_at: int | None = None
        resume = context.resume
        if resume is not None and resume.best_state is not None and resume.best_epoch >= 0:
            best = resume.history[resume.best_epoch].get(objective.metric, math.nan)
            self.best_value, self.best_epoch = objective.signed(best), resume.best_epoch
            self.best_state = resume.best_state

    def __call__(self, module: RecurrentModule, metrics: dict[str, float]) -> None:
        epoch = len(module.history) - 1
        self.tracker.log_epoch(epoch, metrics)
        signed = self.objective.signed(metrics.get(self.objective.metric, math.nan))
        if math.isfinite(signed) and signed < self.best_value:
            self.best_value, self.best_epoch = signed, epoch
            self.best_state = module.kept_state()
        sink = self.context.epoch_checkpoints
        if sink is not None:
            sink.save_epoch(self.context.number, take(module, self.best_epoch, self.best_state))
        if self.reporter.report(epoch, metrics) is Decision.PRUNE:
            self.pruned_at = epoch
            module.trainer.should_stop = True
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            module.trainer.should_stop = True


def run_trial(
    experiment: ExperimentSpec,
    prepared: PreparedData,
    params: Mapping[str, object],
    reporter: Reporter,
    tracker: Tracker,
    context: TrialContext,
) -> TrialResult:
    """Train one configuration on ``prepared``; never raises for trial-level problems (they
    become FAILED), only for interrupts."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    meter = ResourceMeter()
    result = TrialResult(state=TrialState.FAILED, params=dict(params), seed=context.seed)
    result.tags["node"] = socket.gethostname()
    try:
        hp = resolve_params(params, prepared)
        result.params = hp.model_dump()
        tracker.start_trial(context.number, result.params, _tags(hp, context))
        _train_and_score(experiment, prepared, hp, reporter, tracker, context, result)
    except DivergedError as err:
        result.state, result.reason = TrialState.FAILED, err.reason
    except Exception as err:  # a failing trial never ends the search
        if storage_problem(err) is not None:
            raise  # a full or read-only disk: every later trial would fail the same way
        result.state = TrialState.FAILED
        if out_of_memory(err):
            result.reason = OUT_OF_MEMORY
        else:
            result.reason = f"error: {type(err).__name__}: {_one_line(err)}"
        if not isinstance(err, ValidationError | UserError):
            result.traceback = traceback.format_exc()
    if result.reason == OUT_OF_MEMORY:
        release_memory()  # after the except block: its traceback held the trial's tensors
    if result.state is not TrialState.COMPLETE:
        result.values = None  # set before a later step failed (saving the weights, say)
    result.metrics["wall_seconds"] = time.perf_counter() - started
    result.metrics["cpu_seconds"] = time.process_time() - cpu_started
    result.metrics.update(meter.peaks())
    tracker.end_trial(result)
    return result


def _train_and_score(
    experiment: ExperimentSpec,
    prepared: PreparedData,
    hp: Hyperparams,
    reporter: Reporter,
    tracker: Tracker,
    context: TrialContext,
    result: TrialResult,
) -> None:
    """Fit (best epoch kept, reports, patience), then score the best epoch's weights into
    ``result``; COMPLETE trials save those weights to the context's checkpoint sink."""
    first = context.objectives[0]
    if context.resume is not None:
        result.metrics["resumed_from_epoch"] = float(context.resume.epochs)
    watch = _EpochWatch(first, reporter, tracker, experiment.patience, context)
    fitted = fit(experiment, prepared, hp, context.seed, listeners=[watch], resume=context.resume)
    history = fitted.history
    result.history = list(history)
    result.metrics["epochs"] = float(len(history))
    if watch.best_state is None:
        value = (history[-1] if history else {}).get(first.metric, math.nan)
        raise DivergedError(f"diverged: non-finite objective {first.name}={value}")
    fitted.net.load_state_dict(watch.best_state)
    best = history[watch.best_epoch]
    result.metrics["best_epoch"] = float(watch.best_epoch)
    result.metrics.update({f"best_{k}": v for k, v in best.items()})
    result.metrics.update(_evaluate(fitted, prepared))
    if watch.pruned_at is not None:
        result.state, result.reason = TrialState.PRUNED, f"pruned at epoch {watch.pruned_at}"
        return
    values = [objective.value_of(result.metrics, best) for objective in context.objectives]
    if not all(math.isfinite(v) for v in values):
        raise DivergedError(f"diverged: non-finite objective {values}")
    result.values = values
    result.state = TrialState.COMPLETE
    if context.checkpoints is not None:  # the best state is already a detached CPU copy
        result.checkpoint = context.checkpoints.save_best(context.number, watch.best_state)


def _evaluate(fitted: Fitted, prepared: PreparedData) -> dict[str, float]:
    """Parameter count, validation and test scores, and inference latency of the fitted net."""
    net, loaders = fitted.net, fitted.loaders
    metrics = {"params": float(count_parameters(net))}
    metrics.update(score(fitted.module, prepared, {"val": loaders.val, "test": loaders.test}))
    device = next(net.parameters()).device
    metrics["latency_ms"] = inference_latency_ms(net, loaders.val, device)
    return metrics


def _tags(hp: Hyperparams, context: TrialContext) -> dict[str, str]:
    return {
        "trial": str(context.number),
        "cell": hp.cell,
        "topology": str(hp.topology),
        "seed": str(context.seed),
    }


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:300]
