"""The Ray Tune backend: the same trials on a Ray cluster, with resources per trial and ASHA.

The driver (this process) joins a cluster (``--address``) or starts a local Ray with this
machine's CPUs and GPUs (stopped at the end, also after Ctrl-C or an error); the data is prepared
once here and shipped to the trials through Ray's object store. Parameters come from the ledger
(:class:`~automl_rnn.backends.ray_driver.LedgerSearcher`), outcomes go back to it and to MLflow
from the driver (:class:`~automl_rnn.backends.ray_driver.LedgerCallback`). Scheduler, address,
resources and storage are this backend's options.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from automl_rnn.backends.base import SearchJob
from automl_rnn.errors import ConfigError
from automl_rnn.search.ledger import Ledger

if TYPE_CHECKING:
    import psutil
    from ray.tune import Tuner
    from ray.tune.schedulers import TrialScheduler

    from automl_rnn.config.experiment import ExperimentSpec

#: Ray retries a trial whose process or node was lost this many times before failing it.
MAX_FAILURES = 2
#: Seconds a local Ray's processes get to end after ``ray.shutdown`` before they are killed.
RAY_EXIT_GRACE_S = 10.0
#: Storage schemes every node of a cluster can reach.
_SHARED_SCHEMES = ("s3://", "gs://", "gcs://", "abfs://", "hdfs://")


class RayBackend:
    """Runs the trials as Ray Tune trials (see the module docstring)."""

    name = "ray"

    def run(self, job: SearchJob) -> None:
        from ray import tune

        from automl_rnn.backends.optuna_backend import open_study
        from automl_rnn.backends.ray_driver import LedgerCallback, LedgerSearcher
        from automl_rnn.backends.ray_trainable import train

        spec = job.spec
        objective = job.plan.objectives[0]
        mode = "min" if objective.direction == "minimize" else "max"
        with ray_cluster(spec.address) as nodes:
            storage = storage_path(spec, nodes)
            ledger = Ledger.create(
                spec.workspace_path, spec.study_name, [o.direction for o in job.plan.objectives]
            )
            study = open_study(ledger, spec, 0)
            searcher = LedgerSearcher(job, study, objective.metric, mode)
            resources = {"cpu": spec.cpus_per_trial, "gpu": spec.gpus_per_trial}
            trainable = tune.with_resources(tune.with_parameters(train, job=job), resources)
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(
                    metric=objective.metric,
                    mode=mode,
                    search_alg=searcher,
                    scheduler=make_scheduler(spec, job),
                    num_samples=-1,
                    max_concurrent_trials=spec.max_concurrent or concurrency(spec),
                    time_budget_s=spec.timeout,
                    reuse_actors=True,  # a new trial skips the worker's imports
                ),
                run_config=tune.RunConfig(
                    name=spec.study_name,
                    storage_path=storage,
                    failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
                    # The latest epoch's snapshot and the one before (the ledger may still
                    # name it for a moment when the driver dies).
                    checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
                    callbacks=[LedgerCallback(job, study)],
                    verbose=0,
                ),
            )
            fit_interruptibly(tuner, ledger)


def fit_interruptibly(tuner: Tuner, ledger: Ledger) -> None:
    """``tuner.fit()``, but a Ctrl-C or SIGTERM stays an interrupt.

    Tune catches the first Ctrl-C itself: it stops the trials, frees their actors and returns as
    if the search had ended (its handler then puts back the one it replaced, which is how the
    interrupt is told apart from a normal end). A SIGTERM's exception, raised while Ray waits on
    its trials, comes out of Ray as a plain ``KeyboardInterrupt``: it is raised again as the
    :class:`~automl_rnn.errors.Terminated` it was. Trials cut short, by either or by the time
    budget, are failed as interrupted and queued again; the interrupt is then raised here.
    """
    import signal
    import threading

    from automl_rnn.errors import Terminated

    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if main else None
    sigterm = signal.getsignal(signal.SIGTERM) if main else None
    terminated: list[int] = []

    def terminate(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise Terminated()

    if main and callable(sigterm):  # the CLI's handler: note the signal, then as before
        signal.signal(signal.SIGTERM, terminate)
    try:
        tuner.fit()
    except KeyboardInterrupt:
        if terminated:
            raise Terminated() from None
        raise
    finally:
        if main and callable(sigterm):
            signal.signal(signal.SIGTERM, sigterm)
        interrupt_running(ledger)
    if main:
        interrupted = signal.getsignal(signal.SIGINT) is before
        signal.signal(signal.SIGINT, before)
        if interrupted:
            raise KeyboardInterrupt


def interrupt_running(ledger: Ledger) -> None:
    """After Ctrl-C / SIGTERM / an error in the driver: this driver's running trials are failed
    as interrupted and their parameters queued to run first (their MLflow runs are closed by
    the orchestrator)."""
    from optuna.trial import TrialState as OptunaState

    from automl_rnn.ownership import owner_tag
    from automl_rnn.search.records import TrialStatus

    me = owner_tag()
    for trial in ledger.snapshot().by_status(TrialStatus.RUNNING):
        if trial.owner == me:
            with contextlib.suppress(Exception):
                ledger.handle(trial.number).interrupted(trial.sampled, trial.epoch_checkpoint)
                ledger.study.tell(trial.number, state=OptunaState.FAIL)


def make_scheduler(spec: ExperimentSpec, job: SearchJob) -> TrialScheduler | None:
    """ASHA on the per-epoch objective (first rung at a third of the epoch budget, as the Optuna
    backend's Hyperband); ``hyperband``: asynchronous Hyperband (ASHA over 3 brackets, no
    pausing, so no trial restarts); ``none``, or several objectives: no early stopping."""
    from ray.tune.schedulers import AsyncHyperBandScheduler

    from automl_rnn.backends.ray_trainable import RUNG_KEY

    if spec.scheduler == "none" or len(job.plan.objectives) > 1:
        return None
    # The last epoch's report carries no RUNG_KEY: a trial that trained its budget is kept.
    return AsyncHyperBandScheduler(
        time_attr=RUNG_KEY,
        max_t=spec.max_epochs,
        grace_period=min(max(2, spec.max_epochs // 3), spec.max_epochs),
        reduction_factor=3,
        brackets=3 if spec.scheduler == "hyperband" else 1,
    )


def concurrency(spec: ExperimentSpec) -> int:
    """How many trials the cluster's resources hold at once."""
    import ray

    total = ray.cluster_resources()
    fits = [int(total.get("CPU", 1) // spec.cpus_per_trial)]
    if spec.gpus_per_trial > 0:
        fits.append(int(round(total.get("GPU", 0) / spec.gpus_per_trial, 6)))
    return max(1, min(fits))


def storage_path(spec: ExperimentSpec, nodes: int) -> str:
    """Where Ray keeps the experiment's state: ``--storage-path``, else ``<workspace>/ray``,
    which only a single-node cluster can use."""
    if spec.storage_path:
        given = spec.storage_path
        return (
            given if given.startswith(_SHARED_SCHEMES) else str(Path(given).expanduser().resolve())
        )
    if nodes > 1:
        raise ConfigError(
            f"--storage-path: this Ray cluster has {nodes} nodes, and Ray's experiment state must "
            "be on storage every node sees; pass --storage-path /shared/folder or s3://bucket/path"
        )
    return str(spec.workspace_path / "ray")


@contextlib.contextmanager
def ray_cluster(address: str | None) -> Iterator[int]:
    """Join ``address``, or start a local Ray with this machine's CPUs and GPUs; yield the number
    of alive nodes. A Ray this command started is stopped at the end, whatever happens; a
    cluster it joined keeps running. A Ray already running in this process is used as it is."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Tune's own Ctrl-C handler stops the trials and frees their actors (fit_interruptibly then
    # re-raises); a trial that failed before its first epoch reports no objective (it is
    # recorded FAILED, which must not end the search).
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "0"
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Tune logs each failed trial's traceback; the summary gives the reason and MLflow the trace.
    logging.getLogger("ray.tune").setLevel(logging.CRITICAL)
    started = False
    main = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main else None
    if not ray.is_initialized():
        try:
            ray.init(
                address="local" if address is None else address,  # never a cluster by chance
                num_cpus=os.cpu_count() if address is None else None,
                include_dashboard=False,
                logging_level=logging.ERROR,
                log_to_driver=False,
            )
        except (ConnectionError, ValueError, RuntimeError) as err:
            where = f"at {address}" if address else "on this machine"
            raise ConfigError(
                f"--address: no Ray cluster could be joined {where} ({err})"
            ) from None
        started = True
        if sigterm is not None:  # ray.init's own handler exits with status 1, cleaning nothing
            signal.signal(signal.SIGTERM, sigterm)
    try:
        yield sum(1 for node in ray.nodes() if node.get("Alive"))
    finally:
        if started:
            processes = local_ray_processes() if address is None else []
            ray.shutdown()
            end_processes(processes, RAY_EXIT_GRACE_S)


def local_ray_processes() -> list[psutil.Process]:
    """The local Ray this process started: its children that run Ray's code (GCS, raylet,
    Ray's Python helpers, found by a command line naming Ray's package folder) and all their
    descendants (the workers)."""
    import psutil
    import ray

    package = os.path.dirname(ray.__file__)
    found: list[psutil.Process] = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if any(package in part for part in child.cmdline()):
                found += [child, *child.children(recursive=True)]
    return found


def end_processes(processes: list[psutil.Process], grace_s: float) -> None:
    """Wait up to ``grace_s`` for ``processes`` to end (a zombie counts as ended: its reaper
    may be a container's init that never reaps), then SIGKILL the rest: a command that started
    Ray returns with none of Ray's processes left behind, even on a loaded machine where a
    worker takes seconds to notice that its raylet is gone."""
    import psutil

    def alive() -> list[psutil.Process]:
        running = []
        for process in processes:
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    running.append(process)
        return running

    deadline = time.monotonic() + grace_s
    while (left := alive()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)


BACKEND = RayBackend()
