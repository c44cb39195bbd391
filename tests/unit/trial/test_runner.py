"""The trial runner: per-trial seeds, parameter normalisation, determinism, reports, pruning."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from automl_rnn import metric_names as M
from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.data import prepare
from automl_rnn.data.source import DataSource
from automl_rnn.search.objectives import resolve_objectives
from automl_rnn.training.recipe import resolve_params
from automl_rnn.trial.outcome import (
    Decision,
    LocalCheckpoints,
    NullTracker,
    TrialResult,
    TrialState,
)
from automl_rnn.trial.runner import TrialContext, run_trial, trial_seed

# One small fast configuration: a GRU of 8 units reading 24 steps of sine_mix.
SMALL = {"topology": "seq2vec", "cell": "gru", "hidden_size": 8, "lr": 1e-2, "seq_len": 24}


# ---- trial_seed --------------------------------------------------------------------------------


@pytest.mark.parametrize("search_seed", [0, 1, 12345])
def test_trial_seed_is_distinct_per_trial_and_a_valid_torch_seed(search_seed: int) -> None:
    seeds = [trial_seed(search_seed, n) for n in range(2000)]
    assert len(set(seeds)) == len(seeds)
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)


def test_trial_seed_is_reproducible_and_depends_on_the_search_seed() -> None:
    assert [trial_seed(3, n) for n in range(50)] == [trial_seed(3, n) for n in range(50)]
    assert all(trial_seed(0, n) != trial_seed(1, n) for n in range(50))


# ---- resolve_params ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sine_mix() -> Any:
    return prepare(DataSource.from_args({"task": "sine_mix"}))


@pytest.mark.parametrize(
    ("seq_len", "tbptt", "expected"),
    [(24, 24, None), (24, 48, None), (24, 23, 23), (24, 12, 12), (24, None, None)],
)
def test_resolve_params_maps_tbptt_at_or_beyond_the_window_to_full_bptt(
    sine_mix: Any, seq_len: int, tbptt: int | None, expected: int | None
) -> None:
    hp = resolve_params({"seq_len": seq_len, "tbptt_steps": tbptt}, sine_mix)
    assert hp.seq_len == seq_len
    assert hp.tbptt_steps == expected


def test_resolve_params_measures_tbptt_against_the_default_window(sine_mix: Any) -> None:
    window = sine_mix.default_seq_len
    assert resolve_params({"tbptt_steps": window}, sine_mix).tbptt_steps is None
    assert resolve_params({"tbptt_steps": window - 1}, sine_mix).tbptt_steps == window - 1


def test_resolve_params_fills_the_tasks_topology_and_window(sine_mix: Any) -> None:
    hp = resolve_params({}, sine_mix)
    assert hp.topology == sine_mix.topologies[0]
    assert hp.seq_len == sine_mix.default_seq_len
    given = resolve_params({"topology": "encoder_decoder", "seq_len": 36}, sine_mix)
    assert (given.topology, given.seq_len) == ("encoder_decoder", 36)


# ---- run_trial ---------------------------------------------------------------------------------


class Recorder:
    """A reporter that records every report (the objective's metric of the epoch's metrics) and
    answers PRUNE from ``prune_at`` on."""

    def __init__(self, prune_at: int | None = None) -> None:
        self.prune_at = prune_at
        self.reports: list[tuple[int, float]] = []
        self.metrics: list[dict[str, float]] = []

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        self.metrics.append(dict(metrics))
        self.reports.append((epoch, metrics[M.VAL_METRIC]))  # val_mae's metric
        if self.prune_at is not None and epoch >= self.prune_at:
            return Decision.PRUNE
        return Decision.CONTINUE


def trial(
    reporter: Recorder,
    seed: int,
    max_epochs: int = 2,
    number: int = 0,
    checkpoints: Path | None = None,
) -> TrialResult:
    spec = ExperimentSpec(task="sine_mix", max_epochs=max_epochs, trials=1)
    objectives = tuple(resolve_objectives(["val_mae"], "forecast"))
    sink = None if checkpoints is None else LocalCheckpoints(checkpoints)
    context = TrialContext(number, seed, objectives, sink)
    prepared = prepare(DataSource.from_args(spec.data_args()))
    return run_trial(spec, prepared, dict(SMALL), reporter, NullTracker(), context)


def test_same_params_and_seed_give_identical_trials() -> None:
    first, second = Recorder(), Recorder()
    a, b = trial(first, seed=11), trial(second, seed=11)
    assert a.state is b.state is TrialState.COMPLETE
    assert a.values == b.values
    assert first.reports == second.reports
    strip = {M.EPOCH_SECONDS, M.SAMPLES_PER_SECOND}  # wall-clock, not part of the outcome
    assert [{k: v for k, v in h.items() if k not in strip} for h in a.history] == [
        {k: v for k, v in h.items() if k not in strip} for h in b.history
    ]
    other = trial(Recorder(), seed=12)
    assert other.values != a.values


def test_reporter_hears_the_validation_objective_once_per_epoch(tmp_path: Path) -> None:
    reporter = Recorder()
    result = trial(reporter, seed=5, number=7, checkpoints=tmp_path)
    assert result.state is TrialState.COMPLETE
    assert result.seed == 5
    assert [epoch for epoch, _ in reporter.reports] == [0, 1]
    assert [value for _, value in reporter.reports] == [h[M.VAL_METRIC] for h in result.history]
    assert reporter.metrics == result.history  # the whole epoch's metrics, every epoch
    assert result.values == [min(value for _, value in reporter.reports)]
    # The best epoch's weights are kept on disk, loadable without unpickling code.
    assert result.checkpoint == str(tmp_path / "trial-7.pt")
    state = torch.load(result.checkpoint, weights_only=True)
    assert state and all(isinstance(v, torch.Tensor) for v in state.values())
    assert result.params["seq_len"] == 24 and result.params["tbptt_steps"] is None
    for name in ("test_mae", "test_mase", "test_rel_mae", "val_mae", "params", "latency_ms"):
        assert math.isfinite(result.metrics[name]), name


def test_prune_answer_stops_the_trial_and_marks_it_pruned() -> None:
    reporter = Recorder(prune_at=1)
    result = trial(reporter, seed=5, max_epochs=4)
    assert result.state is TrialState.PRUNED
    assert result.reason == "pruned at epoch 1"
    assert [epoch for epoch, _ in reporter.reports] == [0, 1]
    assert len(result.history) == result.metrics["epochs"] == 2
    assert result.values is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (MemoryError(), True),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9"), True),
        (RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"), True),
        (RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 9"), True),
        (OSError(12, "Cannot allocate memory"), True),
        (OSError(28, "No space left on device"), False),
        (RuntimeError("Expected all tensors to be on the same device"), False),
        (ValueError("memory_fraction must be in [0, 1]"), False),
    ],
)
def test_a_failed_allocation_is_told_from_other_errors(error: Exception, expected: bool) -> None:
    from automl_rnn.trial.runner import out_of_memory

    assert out_of_memory(error) is expected
