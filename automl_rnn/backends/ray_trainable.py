"""The Ray Tune trainable: one trial on whichever node Ray places it, through the same
:func:`~automl_rnn.trial.runner.run_trial` as every backend.

Runs in a Ray worker process. It reports once per epoch (``epoch`` counts from 1, the
scheduler's time attribute) and, when the trial ends on its own, once more with the whole
:class:`~automl_rnn.trial.outcome.TrialResult` under :data:`RESULT_KEY` and the best epoch's
weights as a Ray checkpoint. A trial the scheduler stops never sends that last report: the driver
records it as pruned. The worker writes nothing to the workspace (a remote node may not see it);
the driver does (:mod:`automl_rnn.backends.ray_driver`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from automl_rnn.trial.outcome import Decision, NullTracker, TrialResult
from automl_rnn.trial.runner import TrialContext, run_trial, trial_seed

if TYPE_CHECKING:
    import torch

    from automl_rnn.backends.base import SearchJob

#: Result key of the trial's final report: the TrialResult as JSON.
RESULT_KEY = "automl_result"
#: Config keys the driver's searcher sets: the ledger's trial number and the space's parameters.
NUMBER_KEY, PARAMS_KEY = "automl_trial", "params"
#: Epochs trained (1-based), in every per-epoch report.
EPOCH_KEY = "epoch"
#: The scheduler's time attribute: the same count, left out of the last epoch's report and of
#: the final one, so a trial that trained its whole budget is never stopped (and its model kept).
RUNG_KEY = "rung_epoch"
#: File name of the best epoch's weights inside the trial's final checkpoint.
WEIGHTS = "weights.pt"


class TuneReporter:
    """Sends each epoch's metrics to Tune; the scheduler stops the trial, not this reporter."""

    def __init__(self, max_epochs: int) -> None:
        self.max_epochs = max_epochs
        self.last: dict[str, float] = {}
        self.epochs = 0

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        from ray import tune

        self.epochs = epoch + 1
        self.last = {k: float(v) for k, v in metrics.items()}
        tune.report(epoch_result(self.epochs, self.max_epochs, self.last))
        return Decision.CONTINUE


def epoch_result(epochs: int, max_epochs: int, metrics: Mapping[str, float]) -> dict[str, float]:
    """What a trial reports after ``epochs`` epochs (1-based) of ``max_epochs``: the scheduler's
    time attribute only before the last epoch, so it can never stop a trial that trained all."""
    rung = {RUNG_KEY: epochs} if epochs < max_epochs else {}
    return {**metrics, EPOCH_KEY: epochs, **rung}


class FolderCheckpoint:
    """A checkpoint sink that keeps the best weights in a local folder until the last report."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save_best(self, number: int, state: dict[str, torch.Tensor]) -> str:
        import torch

        path = self.folder / WEIGHTS
        torch.save(state, path)
        return str(path)


def train(config: Mapping[str, object], job: SearchJob) -> None:
    """Run the trial the searcher put in ``config`` (``job`` arrives through Ray's object store)."""
    import torch
    from ray import tune

    spec = job.spec
    torch.set_num_threads(max(1, int(spec.cpus_per_trial)))
    number = int(str(config[NUMBER_KEY]))
    params = config[PARAMS_KEY]
    assert isinstance(params, dict)
    reporter = TuneReporter(spec.max_epochs)
    with tempfile.TemporaryDirectory(prefix="automl-rnn-trial-") as folder:
        context = TrialContext(
            number,
            trial_seed(spec.seed, number),
            tuple(job.plan.objectives),
            FolderCheckpoint(Path(folder)),
        )
        result = run_trial(spec, job.plan.prepared, params, reporter, NullTracker(), context)
        final = {**reporter.last, EPOCH_KEY: reporter.epochs, RESULT_KEY: _dump(result)}
        checkpoint = tune.Checkpoint.from_directory(folder) if result.checkpoint else None
        tune.report(final, checkpoint=checkpoint)  # persisted before report returns


def _dump(result: TrialResult) -> str:
    return json.dumps(result.to_dict())


def load_result(text: str) -> TrialResult:
    """The TrialResult a trial's final report carries."""
    return TrialResult.from_dict(json.loads(text))
