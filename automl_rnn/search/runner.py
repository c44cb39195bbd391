"""The one trial runner: builds data, model and Trainer for one set of parameters, for every backend.

``run_trial(experiment, params, reporter, tracker) -> TrialResult``. Backends only sample the
parameters, hand in a reporter (continue / prune after each epoch) and record the result.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pydantic import ValidationError

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data import prepare
from automl_rnn.data.source import DataSource
from automl_rnn.errors import UserError
from automl_rnn.models.factory import ArchConfig, build_network, count_parameters
from automl_rnn.models.module import DivergedError, RecurrentModule, TrainConfig
from automl_rnn.search.evaluate import inference_latency_ms, predict
from automl_rnn.search.objectives import Objective
from automl_rnn.search.outcome import Decision, Reporter, TrialResult, TrialState
from automl_rnn.tracking.base import Tracker


@dataclass(frozen=True)
class TrialContext:
    """Where a trial stands in its search: number, seed, objectives, checkpoint folder."""

    number: int
    seed: int
    objectives: tuple[Objective, ...]
    checkpoint_dir: Path | None = None


def trial_seed(search_seed: int, number: int) -> int:
    """A trial's seed, derived from the search seed and the trial number (recorded per trial)."""
    return (search_seed * 1_000_003 + number * 7919 + 17) % (2**31 - 1)


class _EpochWatch:
    """Per-epoch listener: keeps the best epoch's weights, reports, stops on patience or prune."""

    def __init__(
        self, objective: Objective, reporter: Reporter, tracker: Tracker, patience: int | None
    ):
        self.objective = objective
        self.reporter = reporter
        self.tracker = tracker
        self.patience = patience
        self.best_value = math.inf
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.pruned_at: int | None = None

    def __call__(self, module: RecurrentModule, metrics: dict[str, float]) -> None:
        epoch = len(module.history) - 1
        self.tracker.log_epoch(epoch, metrics)
        value = metrics.get(self.objective.metric, math.nan)
        signed = value if self.objective.direction == "minimize" else -value
        if math.isfinite(signed) and signed < self.best_value:
            self.best_value, self.best_epoch = signed, epoch
            self.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in module.net.state_dict().items()
            }
        if self.reporter.report(epoch, value) is Decision.PRUNE:
            self.pruned_at = epoch
            module.trainer.should_stop = True
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            module.trainer.should_stop = True


class EpochLoader:
    """Repeats a (shuffling) training loader so one epoch sees at least ``min_samples`` samples.

    Tiny series (AirPassengers has ~70 training windows) would otherwise give a handful of
    optimiser steps per epoch, and any epoch budget would stop training long before convergence.
    """

    def __init__(self, loader: Any, min_samples: int) -> None:
        self.loader = loader
        samples = len(loader.dataset) if hasattr(loader, "dataset") else 0
        self.repeats = max(1, math.ceil(min_samples / samples)) if samples else 1

    def __len__(self) -> int:
        return len(self.loader) * self.repeats

    def __iter__(self) -> Any:
        for _ in range(self.repeats):
            yield from self.loader


class ResourceMeter:
    """Peak memory of one trial: process RSS (Linux: the peak is reset at the trial's start via
    ``/proc/self/clear_refs``, so it is this trial's, not the worker's lifetime peak) and, with
    CUDA, the peak allocated GPU memory."""

    def __init__(self) -> None:
        self.rss_reset = _reset_peak_rss()
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()

    def peaks(self) -> dict[str, float]:
        found: dict[str, float] = {}
        rss = _peak_rss_mb() if self.rss_reset else None  # else the worker's lifetime peak
        if rss is not None:
            found["peak_rss_mb"] = rss
        if self.cuda:
            found["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        return found


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets the peak resident set size (VmHWM) of this process
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process lifetime peak
    except ImportError:  # pragma: no cover - Windows
        return None


def resolve_params(params: dict[str, Any], prepared: Any) -> Hyperparams:
    """Fill defaults and normalise: the task's topology and window, tbptt >= length -> full BPTT."""
    hp = Hyperparams.model_validate(params)
    updates: dict[str, Any] = {}
    if hp.topology is None:
        updates["topology"] = prepared.topologies[0]
    if prepared.kind == "forecast" and hp.seq_len is None:
        updates["seq_len"] = prepared.default_seq_len
    hp = hp.model_copy(update=updates)
    length = hp.seq_len if prepared.kind == "forecast" else None
    if hp.tbptt_steps is not None and length is not None and hp.tbptt_steps >= length:
        hp = hp.model_copy(update={"tbptt_steps": None})
    return hp


def run_trial(
    experiment: ExperimentSpec,
    params: dict[str, Any],
    reporter: Reporter,
    tracker: Tracker,
    context: TrialContext,
) -> TrialResult:
    """Train one configuration; never raises for trial-level problems (they become FAILED)."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    meter = ResourceMeter()
    result = TrialResult(state=TrialState.FAILED, params=dict(params), seed=context.seed)
    try:
        prepared = prepare(DataSource.from_args(experiment.data_args()))
        hp = resolve_params(params, prepared)
        result.params = hp.model_dump()
        tracker.start_trial(context.number, result.params, _tags(hp, context))
        _fit_and_score(experiment, prepared, hp, reporter, tracker, context, result)
    except DivergedError as err:
        result.state, result.reason = TrialState.FAILED, err.reason
    except torch.cuda.OutOfMemoryError:
        result.state, result.reason = TrialState.FAILED, "out_of_memory"
    except Exception as err:  # a failing trial never ends the search
        result.state = TrialState.FAILED
        if "out of memory" in str(err).lower():
            result.reason = "out_of_memory"
        else:
            result.reason = f"error: {type(err).__name__}: {_one_line(err)}"
            if not isinstance(err, ValidationError | UserError):
                result.traceback = traceback.format_exc()
    result.metrics["wall_seconds"] = time.perf_counter() - started
    result.metrics["cpu_seconds"] = time.process_time() - cpu_started
    result.metrics.update(meter.peaks())
    tracker.end_trial(result)
    return result


def _fit_and_score(
    experiment: ExperimentSpec,
    prepared: Any,
    hp: Hyperparams,
    reporter: Reporter,
    tracker: Tracker,
    context: TrialContext,
    result: TrialResult,
) -> None:
    topology = str(hp.topology)
    pl.seed_everything(context.seed, verbose=False)
    loaders = prepared.loaders(topology, hp.seq_len, hp.batch_size, hp.scaling, context.seed)
    shape = prepared.shape(topology)
    net = network_for(hp, shape)
    config = train_config(hp)
    watch = _EpochWatch(context.objectives[0], reporter, tracker, experiment.patience)
    module = RecurrentModule(net, shape, config, listeners=[watch])
    trainer = make_trainer(experiment.max_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = EpochLoader(loaders.train, experiment.epoch_samples)
        fit_interruptibly(trainer, module, train, loaders.val)
    result.history = list(module.history)
    result.metrics["epochs"] = float(len(module.history))
    if watch.best_state is None:
        last = module.history[-1] if module.history else {}
        value = last.get(context.objectives[0].metric, math.nan)
        raise DivergedError(f"diverged: non-finite objective {context.objectives[0].name}={value}")
    net.load_state_dict(watch.best_state)
    result.metrics["best_epoch"] = float(watch.best_epoch)
    result.metrics.update({f"best_{k}": v for k, v in module.history[watch.best_epoch].items()})
    result.metrics["params"] = float(count_parameters(net))
    module.eval()
    device = next(net.parameters()).device
    for split, loader in (("val", loaders.val), ("test", loaders.test)):
        result.metrics.update(prepared.score(split, predict(module, loader, device)))
    result.metrics["latency_ms"] = inference_latency_ms(net, loaders.val, device)
    if watch.pruned_at is not None:
        result.state, result.reason = TrialState.PRUNED, f"pruned at epoch {watch.pruned_at}"
        return
    values = [
        _objective_value(o, result.metrics, module.history[watch.best_epoch])
        for o in context.objectives
    ]
    if not all(math.isfinite(v) for v in values):
        raise DivergedError(f"diverged: non-finite objective {values}")
    result.values = values
    result.state = TrialState.COMPLETE
    if context.checkpoint_dir is not None:
        context.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = context.checkpoint_dir / f"trial-{context.number}.pt"
        torch.save(watch.best_state, path)  # already a detached CPU copy
        result.checkpoint = str(path)


def arch_of(hp: Hyperparams) -> ArchConfig:
    """The cell x topology architecture a trial's hyperparameters describe."""
    return ArchConfig(
        hp.cell,
        str(hp.topology),
        hp.num_layers,
        hp.hidden_size,
        hp.dropout,
        hp.bidirectional,
        hp.readout,
    )


def network_for(hp: Hyperparams, shape: Any) -> torch.nn.Module:
    """The cell x topology network a trial's hyperparameters describe."""
    return build_network(arch_of(hp), shape)


def train_config(hp: Hyperparams) -> TrainConfig:
    """The optimisation settings a trial's hyperparameters describe."""
    return TrainConfig(
        lr=hp.lr,
        weight_decay=hp.weight_decay,
        optimizer=hp.optimizer,
        lr_schedule=hp.lr_schedule,
        grad_clip=hp.grad_clip,
        tbptt_steps=hp.tbptt_steps,
        teacher_forcing=hp.teacher_forcing,
        loss=hp.loss,
    )


def fit_interruptibly(trainer: pl.Trainer, module: Any, train: Any, val: Any) -> None:
    """``trainer.fit``, but Ctrl-C / SIGTERM stay interrupts.

    Lightning catches ``KeyboardInterrupt`` inside ``fit``, ignores SIGINT from then on, and calls
    ``exit(1)``; the search must instead see the interrupt (to end its runs as KILLED and stop its
    workers), so the original exception is re-raised and the SIGINT handler restored.
    """
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if main else None
    try:
        trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
    except SystemExit as err:
        if isinstance(err.__context__, KeyboardInterrupt):
            raise err.__context__ from None
        raise
    finally:
        if main and sigint is not None:
            signal.signal(signal.SIGINT, sigint)


def make_trainer(max_epochs: int) -> pl.Trainer:
    """The Trainer every trial uses: no logger or checkpoint files (tracking is ours), quiet."""
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    return pl.Trainer(
        max_epochs=max_epochs,
        accelerator="auto",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )


def _objective_value(
    objective: Objective, metrics: dict[str, float], best: dict[str, float]
) -> float:
    if objective.per_epoch:
        return float(best.get(objective.metric, math.nan))
    return float(metrics.get(objective.metric, math.nan))


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
