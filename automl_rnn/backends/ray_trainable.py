"""The Ray Tune trainable: one trial on whichever node Ray places it, through the same
:func:`~automl_rnn.trial.runner.run_trial` as every backend.

Runs in a Ray worker process. It reports once per epoch (``epoch`` counts from 1, the
scheduler's time attribute) with that epoch's snapshot as a Ray checkpoint (network, optimiser,
schedule, random generators, best epoch so far: :mod:`automl_rnn.training.snapshot`), so a trial
Ray restarts after a lost node, or the ledger queues again after a driver crash, continues from
its last epoch. When the trial ends on its own it reports once more, with the whole
:class:`~automl_rnn.trial.outcome.TrialResult` under :data:`RESULT_KEY` and the best epoch's
weights. A trial the scheduler stops never sends that last report: the driver records it as
pruned. The worker writes nothing to the workspace (a remote node may not see it);
the driver does (:mod:`automl_rnn.backends.ray_driver`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from automl_rnn.trial.outcome import Decision, NullTracker, TrialResult
from automl_rnn.trial.runner import TrialContext, run_trial, trial_seed

if TYPE_CHECKING:
    import torch
    from ray import tune

    from automl_rnn.backends.base import SearchJob
    from automl_rnn.training.snapshot import EpochSnapshot

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
#: File name of the latest epoch's snapshot inside each checkpoint.
STATE = "state.pt"
#: Config key of a requeued trial's checkpoint to continue from (a URI Ray's storage reads).
RESUME_KEY = "resume_from"
#: Result key marking an epoch reported again by a trial that continues an interrupted one.
REPLAY_KEY = "replayed"
#: Result key naming the Ray node a report came from: its IP and the start of its node id.
NODE_KEY = "ray_node"


class TrialFolder:
    """The trial's local checkpoint folder: the latest epoch's snapshot (:data:`STATE`) and, at the
    end, the best epoch's weights (:data:`WEIGHTS`). Ray copies it to its storage with each report
    that carries it (before the report returns), so it is rewritten in place."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.unreported = False

    def save_epoch(self, number: int, snapshot: EpochSnapshot) -> None:
        from automl_rnn.training.snapshot import save

        save(snapshot, self.folder / STATE)
        self.unreported = True

    def save_best(self, number: int, state: dict[str, torch.Tensor]) -> str:
        import torch

        path = self.folder / WEIGHTS
        torch.save(state, path)
        return str(path)

    def checkpoint(self) -> tune.Checkpoint | None:
        """The folder as a Ray checkpoint when it changed since the last report."""
        from ray import tune

        if not self.unreported:
            return None
        self.unreported = False
        checkpoint = tune.Checkpoint.from_directory(str(self.folder))  # typed as its base
        return cast("tune.Checkpoint", checkpoint)


class TuneReporter:
    """Sends each epoch's metrics (with the epoch's checkpoint) to Tune; the scheduler stops the
    trial, not this reporter."""

    def __init__(self, max_epochs: int, folder: TrialFolder, node: str = "") -> None:
        self.max_epochs = max_epochs
        self.folder = folder
        self.node = node
        self.last: dict[str, float] = {}
        self.epochs = 0

    def report(self, epoch: int, metrics: Mapping[str, float]) -> Decision:
        from ray import tune

        self.epochs = epoch + 1
        self.last = {k: float(v) for k, v in metrics.items()}
        result = {**epoch_result(self.epochs, self.max_epochs, self.last), NODE_KEY: self.node}
        tune.report(result, checkpoint=self.folder.checkpoint())
        return Decision.CONTINUE


def epoch_result(epochs: int, max_epochs: int, metrics: Mapping[str, float]) -> dict[str, float]:
    """What a trial reports after ``epochs`` epochs (1-based) of ``max_epochs``: the scheduler's
    time attribute only before the last epoch, so it can never stop a trial that trained all."""
    rung = {RUNG_KEY: epochs} if epochs < max_epochs else {}
    return {**metrics, EPOCH_KEY: epochs, **rung}


def resume_point(config: Mapping[str, object]) -> tuple[EpochSnapshot | None, bool]:
    """The snapshot this trial continues from, and whether Tune itself restarted it (after a lost
    node: Tune has its earlier reports) rather than the ledger queueing it again (a new Tune
    trial continuing an interrupted one: its earlier epochs are reported again, marked
    :data:`REPLAY_KEY`, so its records hold every epoch)."""
    from ray import tune

    from automl_rnn.training.snapshot import load

    restarted = tune.get_checkpoint()
    source = restarted
    if source is None and isinstance(config.get(RESUME_KEY), str):
        source = tune.Checkpoint(str(config[RESUME_KEY]))
    if source is None:
        return None, False
    try:
        with source.as_directory() as folder:
            return load(Path(folder) / STATE), restarted is not None
    except (OSError, ValueError):  # gone from storage: start over
        return None, False


def node_label() -> str:
    """This Ray node as ``IP (node id prefix)``: nodes on one machine share the IP."""
    import ray

    context = ray.get_runtime_context()
    return f"{ray.util.get_node_ip_address()} ({context.get_node_id()[:8]})"


def train(config: Mapping[str, object], job: SearchJob) -> None:
    """Run the trial the searcher put in ``config`` (``job`` arrives through Ray's object store)."""
    import torch
    from ray import tune

    spec = job.spec
    torch.set_num_threads(max(1, int(spec.cpus_per_trial)))
    number = int(str(config[NUMBER_KEY]))
    params = config[PARAMS_KEY]
    assert isinstance(params, dict)
    resume, restarted = resume_point(config)
    node = node_label()
    if resume is not None and not restarted:
        for epoch, metrics in enumerate(resume.history, start=1):  # no rung: not scheduled
            tune.report({**metrics, EPOCH_KEY: epoch, REPLAY_KEY: 1, NODE_KEY: node})
    with tempfile.TemporaryDirectory(prefix="automl-rnn-trial-") as folder:
        checkpoints = TrialFolder(Path(folder))
        reporter = TuneReporter(spec.max_epochs, checkpoints, node)
        reporter.epochs = 0 if resume is None else resume.epochs
        context = TrialContext(
            number,
            trial_seed(spec.seed, number),
            tuple(job.plan.objectives),
            checkpoints,
            epoch_checkpoints=checkpoints,
            resume=resume,
        )
        result = run_trial(spec, job.plan.prepared, params, reporter, NullTracker(), context)
        final = {**reporter.last, EPOCH_KEY: reporter.epochs, RESULT_KEY: _dump(result)}
        final[NODE_KEY] = node  # a trial continued after its last epoch reports only this
        checkpoints.unreported = checkpoints.unreported or result.checkpoint is not None
        tune.report(final, checkpoint=checkpoints.checkpoint())  # persisted before it returns


def _dump(result: TrialResult) -> str:
    return json.dumps(result.to_dict())


def load_result(text: str) -> TrialResult:
    """The TrialResult a trial's final report carries."""
    return TrialResult.from_dict(json.loads(text))
