"""One trial, run the same way under every backend: owner and seed recorded, the trial tracked,
its result written to the ledger, an interrupt turned into a retry.

Called in the process that trains the trial (a local worker; a Ray trial actor writes through
the driver instead, with the same ledger calls).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from automl_rnn.ownership import owner_tag
from automl_rnn.search.storage import checkpoint_dir
from automl_rnn.signals import ignore_further_interrupts
from automl_rnn.trial.outcome import LocalCheckpoints, NullTracker, Reporter, Tracker, TrialResult
from automl_rnn.trial.runner import TrialContext, run_trial, trial_seed

if TYPE_CHECKING:
    from automl_rnn.backends.base import SearchJob
    from automl_rnn.search.ledger import Ledger, TrialHandle
    from automl_rnn.search.records import ParamValue


def execute_trial(
    job: SearchJob,
    ledger: Ledger,
    number: int,
    params: Mapping[str, ParamValue],
    sampled: Mapping[str, ParamValue],
    reporter: Reporter,
) -> TrialResult:
    """Train trial ``number`` with ``params`` (the space's values for the ``sampled`` draws) and
    record its result.

    A Ctrl-C / SIGTERM mid-trial ends its MLflow run as KILLED, fails the trial as interrupted
    and queues its parameters to run first on resume; the interrupt is re-raised.
    """
    spec = job.spec
    handle = ledger.handle(number)
    owner, seed = owner_tag(), trial_seed(spec.seed, number)
    folder = checkpoint_dir(spec.workspace_path, spec.study_name)
    context = TrialContext(number, seed, tuple(job.plan.objectives), LocalCheckpoints(folder))
    tracker: Tracker = NullTracker()
    try:
        handle.start(owner, seed)
        with handle.heartbeats():  # a shared database's other machines see it alive
            tracker = _tracker(job, ledger, handle, owner)  # a while on a remote server
            result = run_trial(spec, job.plan.prepared, dict(params), reporter, tracker, context)
    except BaseException:  # Ctrl-C / SIGTERM mid-trial: the run ends KILLED, never RUNNING
        ignore_further_interrupts()
        tracker.abort("KILLED")
        handle.interrupted(sampled)
        raise
    handle.record(result)
    return result


def _tracker(job: SearchJob, ledger: Ledger, handle: TrialHandle, owner: str) -> Tracker:
    """The trial's MLflow child run (its id stored in the ledger as soon as it exists)."""
    if job.target is None:
        return NullTracker()
    from automl_rnn.tracking.mlflow_tracker import MLflowTrialTracker

    def is_best(result: TrialResult) -> bool:
        return result.values is not None and ledger.snapshot().is_best(result.values)

    return MLflowTrialTracker(
        job.target, handle.number, owner, is_best=is_best, on_start=handle.set_run_id
    )
