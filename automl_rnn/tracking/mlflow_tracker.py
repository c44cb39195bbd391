"""One nested MLflow run per trial: parameters, per-epoch curves, resource use, final state.

Every MLflow call goes through :class:`MlflowClient` on an explicit run id (never the fluent
``mlflow.start_run`` stack), so trials in worker processes and the parent run in the driver never
share global state. Per-epoch metrics go to a background thread that sends whatever has queued as
one ``log_batch`` (against an HTTP server one call costs ~60 ms; a batch of 50 values ~70 ms), so
training never waits on the network; the thread belongs to the trial and is joined before the
run ends, which also keeps it safe across the backend's ``fork``.

A tracking problem never fails a trial: the first error is reported once on stderr and that
trial's tracking stops.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl_rnn.tracking.store import OWNER_TAG, ROLE_TAG, STUDY_TAG, client

if TYPE_CHECKING:
    from automl_rnn.trial.outcome import TrialResult

#: MLflow's system metrics (CPU, memory, GPU) are sampled this often during a trial (seconds).
SYSTEM_METRICS_INTERVAL_S = float(os.environ.get("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "1"))


@dataclass(frozen=True)
class TrackingTarget:
    """Where a search logs: plain strings, so it crosses into worker processes unchanged."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    study: str


def make_metric(key: str, value: float, step: int = 0) -> Any:
    """An MLflow ``Metric`` stamped now, for ``log_batch``."""
    from mlflow.entities import Metric

    return Metric(key=key, value=float(value), timestamp=int(time.time() * 1000), step=step)


class _BatchSender(threading.Thread):
    """Sends queued metrics as few ``log_batch`` calls as the server's pace allows."""

    MAX_BATCH = 1000  # MLflow's limit of metrics per log_batch call

    def __init__(self, mlflow_client: Any, run_id: str, on_error: Callable[[Exception], None]):
        super().__init__(name=f"mlflow-batch-{run_id[:8]}", daemon=True)
        self.client = mlflow_client
        self.run_id = run_id
        self.on_error = on_error
        self.queue: queue.Queue[Any] = queue.Queue()

    def put(self, metrics: list[Any]) -> None:
        self.queue.put(metrics)

    def close(self, timeout: float = 60.0) -> None:
        """Send what is queued, then stop (waits at most ``timeout`` seconds)."""
        self.queue.put(None)
        self.join(timeout)

    def run(self) -> None:
        done = False
        while not done:
            pending = self.queue.get()
            if pending is None:
                break
            batch = list(pending)
            while True:  # drain what queued meanwhile into the same call
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    done = True
                    break
                batch.extend(more)
            try:
                for start in range(0, len(batch), self.MAX_BATCH):
                    self.client.log_batch(
                        self.run_id, metrics=batch[start : start + self.MAX_BATCH]
                    )
            except Exception as err:  # tracking never fails a trial
                self.on_error(err)
                return


class MLflowTrialTracker:
    """The :class:`~automl_rnn.trial.outcome.Tracker` that logs one trial as a child run.

    ``is_best`` tells, at the trial's end, whether it is the best so far (its checkpoint is then
    logged as an artifact).
    """

    def __init__(
        self,
        target: TrackingTarget,
        number: int,
        owner: str,
        is_best: Callable[[TrialResult], bool] = lambda result: False,
        on_start: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.on_start = on_start
        self.number = number
        self.owner = owner
        self.is_best = is_best
        self.run_id: str | None = None
        self._sender: _BatchSender | None = None
        self._monitor: Any = None
        self._broken = False
        self.client: Any = None
        try:
            self.client = client(target.tracking_uri)
        except Exception as err:  # e.g. an unsupported URI scheme: this trial goes untracked
            self._warn(err)

    # -- Tracker protocol ------------------------------------------------------------------------

    def start_trial(self, number: int, params: dict[str, Any], tags: dict[str, str]) -> None:
        self._guard(self._start, tags)

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        if self._sender is None or self._broken:
            return
        self._sender.put([make_metric(k, v, epoch) for k, v in metrics.items() if _finite(v)])

    def end_trial(self, result: TrialResult) -> None:
        self._guard(self._end, result)

    def abort(self, status: str = "KILLED", reason: str = "interrupted") -> None:
        """End the run as KILLED (Ctrl-C, SIGTERM) or FAILED; never raises."""
        if self.client is None:
            return
        try:
            if self.run_id is None:  # cut inside create_run (off the main thread): find the run
                self.run_id = self._created_run()
            if self.run_id is None:
                return
            self._stop_threads(timeout=5.0)
            self.client.set_tag(self.run_id, "state", "killed" if status == "KILLED" else "failed")
            self.client.set_tag(self.run_id, "reason", reason)
            self.client.set_terminated(self.run_id, status=status)
        except Exception as err:
            self._warn(err)

    # -- internals -------------------------------------------------------------------------------

    def _created_run(self) -> str | None:
        runs = self.client.search_runs(
            [self.target.experiment_id],
            filter_string=f"tags.trial = '{self.number}' and attributes.status = 'RUNNING'",
        )
        mine = [r for r in runs if r.data.tags.get(OWNER_TAG) == self.owner]
        return mine[0].info.run_id if mine else None

    def _start(self, tags: dict[str, str]) -> None:
        from automl_rnn.signals import interrupts_deferred

        # An interrupt between creating the run and holding its id would leave a run nothing ends.
        with interrupts_deferred():
            run = self.client.create_run(
                self.target.experiment_id,
                run_name=f"trial-{self.number}",
                tags={
                    "mlflow.parentRunId": self.target.parent_run_id,
                    ROLE_TAG: "trial",
                    STUDY_TAG: self.target.study,
                    OWNER_TAG: self.owner,
                    "trial": str(self.number),
                    "state": "running",
                    **tags,
                },
            )
            self.run_id = run.info.run_id
            if self.on_start is not None:
                self.on_start(self.run_id)
            self._sender = _BatchSender(self.client, self.run_id, self._warn)
            self._sender.start()
            self._monitor = _start_system_metrics(self.run_id, self.target.tracking_uri)

    def _end(self, result: TrialResult) -> None:
        from mlflow.entities import Param, RunTag

        if self.run_id is None:  # failed before it started (bad parameters, data error)
            self._start({"trial": str(self.number), "seed": str(result.seed)})
        assert self.run_id is not None
        self._stop_threads()
        params = [Param(k, _param_text(v)) for k, v in sorted(result.params.items())]
        final = [make_metric(k, v) for k, v in sorted(result.metrics.items()) if _finite(v)]
        if result.values is not None:
            final += [make_metric(f"objective_{i}", v) for i, v in enumerate(result.values)]
        tags = [RunTag(k, v) for k, v in sorted(result.tags.items())]
        self.client.log_batch(self.run_id, metrics=final, params=params, tags=tags)
        self.client.set_tag(self.run_id, "state", result.state.value)
        if result.reason:
            self.client.set_tag(self.run_id, "reason", result.reason)
        if result.traceback:
            self.client.log_text(self.run_id, result.traceback, "traceback.txt")
        if result.checkpoint and self.is_best(result):
            self.client.log_artifact(self.run_id, result.checkpoint, "checkpoint")
            self.client.set_tag(self.run_id, "best_so_far", "true")
        # A pruned trial ran as intended: FINISHED, with state=pruned in its tags.
        failed = result.state.value == "failed"
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")

    def _stop_threads(self, timeout: float = 60.0) -> None:
        if self._monitor is not None:
            monitor, self._monitor = self._monitor, None
            try:
                monitor.finish()
            except Exception as err:
                self._warn(err)
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.close(timeout)

    def _guard(self, call: Callable[..., None], *args: Any) -> None:
        if self._broken:
            self._give_up()
            return
        try:
            call(*args)
        except Exception as err:
            self._warn(err)
            self._give_up()

    def _give_up(self) -> None:
        """After a tracking error: stop the sender and system-metrics threads and end the run
        FAILED (its record is incomplete); best effort, so it never raises."""
        with contextlib.suppress(Exception):
            self._stop_threads(timeout=5.0)
        if self.run_id is not None:
            with contextlib.suppress(Exception):
                self.client.set_terminated(self.run_id, status="FAILED")

    def _warn(self, err: Exception) -> None:
        if not self._broken:
            self._broken = True
            text = " ".join(str(err).split())[:200]
            print(
                f"warning: MLflow tracking of trial {self.number} stopped "
                f"({type(err).__name__}: {text}); the trial goes on",
                file=sys.stderr,
            )


def _start_system_metrics(run_id: str, tracking_uri: str) -> Any:
    """MLflow's own CPU / memory / GPU sampler on this run (None where psutil is missing)."""
    try:
        import logging

        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)
        monitor = SystemMetricsMonitor(
            run_id,
            sampling_interval=SYSTEM_METRICS_INTERVAL_S,
            samples_before_logging=1,
            tracking_uri=tracking_uri,
        )
        monitor.start()
        return monitor
    except ImportError:
        return None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _param_text(value: Any) -> str:
    return "None" if value is None else str(value)[:6000]
