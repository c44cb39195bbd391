"""Orchestrates one search: spec → plan → ledger (created or resumed) → tracking → backend →
summary. Validation and every check a user can fail come before the study is written, and the
checks of the input (flags, experiment file, data, space) before anything heavy is imported: a
refusal costs about what ``inspect``'s does (``bench/refusals.py``)."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import time
import traceback

from automl_rnn.backends.base import SearchJob, get_backend
from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.errors import one_line
from automl_rnn.orchestration.classical_job import ClassicalJob
from automl_rnn.orchestration.progress import Progress
from automl_rnn.orchestration.resume import Overrides, check_resume, resolve_spec
from automl_rnn.orchestration.runs import (
    close_trial_runs,
    finish,
    open_tracking,
    probe_tracking_server,
    ui_command,
)
from automl_rnn.search.ledger import NODE_LOST, Ledger
from automl_rnn.search.plan import SearchPlan, make_plan
from automl_rnn.search.records import StudySnapshot
from automl_rnn.search.storage import check_storage
from automl_rnn.search.summary import Json, best
from automl_rnn.search.verdict import baseline_verdict
from automl_rnn.signals import ignore_further_interrupts, interrupt_handlers, restore_interrupts
from automl_rnn.tracking.search_run import SearchRun


def run_search(overrides: Overrides, config: str | None, progress: bool) -> Json:
    """Validate, create or resume the study, run the trials, and summarise."""
    spec = resolve_spec(overrides, config)
    plan = make_plan(spec)
    if spec.tracking and spec.tracking_uri:
        probe_tracking_server(spec.tracking_uri)  # before anything is written
    if spec.storage is not None:
        check_storage(spec.storage)  # connects: a wrong password is refused before the imports
    # Every refusal above comes before the backend's imports (torch, Lightning, MLflow).
    backend = get_backend(spec.backend)
    started = time.time()
    ledger = Ledger.create(
        spec.workspace_path, spec.study_name, [o.direction for o in plan.objectives], spec.storage
    )
    # Under the claims lock: searches started at once on several machines store the experiment
    # and queue the first trials once.
    with ledger.claims():
        resumed = check_resume(ledger, spec)
        stored = ledger.stored_experiment() if resumed else None
        ledger.store_experiment(
            stored or spec.public(), plan.prepared.kind, [o.name for o in plan.objectives]
        )
        if not resumed:
            ledger.enqueue_first_trials(plan.space.first_trials)
        ledger.set_stopped(None)  # a note on the previous run, not on this one
        ledger.recover_stale()
    for warning in plan.prepared.warnings:  # held back until the whole input was accepted
        logging.getLogger("automl_rnn.data").warning(warning)
    search_run = open_tracking(spec, plan, ledger)
    classical = ClassicalJob.start(spec, plan, ledger)
    display = Progress(ledger, spec.trials, sys.stderr if progress else io.StringIO())
    job = SearchJob(spec, plan, search_run.target if search_run else None, display.poll)
    handlers = interrupt_handlers()
    try:
        backend.run(job)
    except BaseException as err:
        interrupted = isinstance(err, KeyboardInterrupt)
        if interrupted:
            ignore_further_interrupts()
        if classical is not None:
            classical.stop()  # an interrupted or failed search scores nothing more
        with contextlib.suppress(Exception):  # a worker killed in its cleanup left a trial RUNNING
            ledger.recover_stale()
        if search_run is not None:
            snapshot = ledger.snapshot()
            close_trial_runs(search_run, snapshot)
            error = None if interrupted else traceback.format_exc()
            finish(search_run, snapshot, "KILLED" if interrupted else "FAILED", error)
        restore_interrupts(handlers)  # a notebook's Ctrl-C works again
        raise
    if classical is not None:
        classical.finish()
    snapshot = ledger.snapshot()
    ensemble = _default_ensemble(spec, plan, snapshot) if snapshot.best() else None
    if search_run is not None:
        close_trial_runs(search_run, snapshot)  # runs a dead worker left open or FINISHED
        finish(search_run, snapshot, ensemble=ensemble)
    display.poll()
    return _summary(spec, plan, ledger, search_run, started, ensemble)


def _summary(
    spec: ExperimentSpec,
    plan: SearchPlan,
    ledger: Ledger,
    search_run: SearchRun | None,
    started: float,
    ensemble: Json | None,
) -> Json:
    """What was searched, how it ended, where its runs are, and the winner against the baseline."""
    snapshot = ledger.snapshot()
    summary: Json = {
        "study": spec.study_name,
        "workspace": str(spec.workspace_path),
        "task": plan.prepared.name,
        "space": plan.space.name,
        "objectives": [o.name for o in plan.objectives],
        "counts": snapshot.counts(),
        "failure_reasons": snapshot.failure_reasons(),
        "recovered_trials": ledger.recovered_since(started),
        "lost_trials": ledger.failed_since(started, NODE_LOST),
        "elapsed_seconds": round(snapshot.elapsed_seconds(), 1),
    }
    if search_run is not None:
        target = search_run.target
        summary["mlflow"] = {
            "tracking_uri": target.tracking_uri,
            "experiment_id": target.experiment_id,
            "parent_run_id": search_run.run_id,
            "ui": ui_command(spec),
        }
    if snapshot.info.stopped:
        summary["stopped"] = snapshot.info.stopped
    top = snapshot.best()
    summary["best"] = best(snapshot) if top is not None else None
    summary["baseline"] = (
        baseline_verdict(plan.prepared.kind, top.metrics, snapshot.info.classical) if top else None
    )
    summary["ensemble"] = ensemble
    return summary


def _default_ensemble(
    spec: ExperimentSpec, plan: SearchPlan, snapshot: StudySnapshot
) -> Json | None:
    """The trials and scores of the ensemble ``export`` makes by default (None: it exports the
    best trial alone); a failure to score it only warns (``export`` says why, if it fails too)."""
    from automl_rnn.export.choice import default_ensemble

    try:
        return default_ensemble(snapshot, spec.workspace_path, plan.prepared)
    except Exception as err:
        print(
            f"warning: the default ensemble was not scored ({one_line(err, 200)})", file=sys.stderr
        )
        return None
