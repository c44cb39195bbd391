"""The backend protocol and registry: where trials run, and how parameters are asked and told.

The orchestrator (:mod:`automl_rnn.orchestration.search`) opens the ledger (the study exists, its
experiment is stored, stale trials are recovered) and the MLflow parent run, then hands a
:class:`SearchJob` to the backend named by ``spec.backend`` and never names one itself. A backend
only decides where trials run and how parameters are sampled and told; what a trial does
(:func:`automl_rnn.trial.runner.run_trial`), what it records (:mod:`automl_rnn.search.ledger`) and
the budget rules (:class:`Budget`) are shared.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from automl_rnn.errors import ConfigError, unknown_name

if TYPE_CHECKING:
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.search.plan import SearchPlan
    from automl_rnn.tracking.mlflow_tracker import TrackingTarget


@dataclass(frozen=True)
class SearchJob:
    """What a backend runs: the validated spec, its plan, and where trials log (None: nowhere)."""

    spec: ExperimentSpec
    plan: SearchPlan
    target: TrackingTarget | None = None
    on_trial_end: Callable[[], None] | None = None
    """Called in the driver process after each trial it sees end (the progress line)."""


class Backend(Protocol):
    """Runs a search's trials. Called once per search, in the driver process.

    ``run`` returns when the study holds ``spec.trials`` finished trials, ``spec.timeout`` has
    passed, or :data:`Budget.failure_limit` trials failed in a row (noted with
    :meth:`automl_rnn.search.ledger.Ledger.set_stopped`). Every trial it starts ends recorded
    in the ledger (complete, pruned, or failed with a reason). On Ctrl-C / SIGTERM it stops its
    workers, leaves no trial RUNNING and no run open, and re-raises.
    """

    name: str

    def run(self, job: SearchJob) -> None: ...


#: Backend name -> the module that defines ``BACKEND`` (imported only when chosen).
_REGISTRY: dict[str, str] = {
    "optuna": "automl_rnn.backends.optuna_backend",
    "ray": "automl_rnn.backends.ray_backend",
}
#: The package a backend needs beyond the core, and how to install it.
_EXTRAS: dict[str, str] = {"ray": "pip install 'automl-rnn[ray]'"}


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def get_backend(name: str) -> Backend:
    """The backend registered as ``name`` (one line naming the valid ones, or the extra to
    install, when it cannot be had)."""
    if name not in _REGISTRY:
        raise ConfigError(unknown_name("backend", name, backend_names()))
    extra = _EXTRAS.get(name)
    if extra is not None and importlib.util.find_spec(name) is None:
        raise ConfigError(f"--backend {name} needs Ray, which is not installed: {extra}")
    module = importlib.import_module(_REGISTRY[name])
    backend: Backend = module.BACKEND
    return backend


class Budget:
    """The shared stopping rules of a search process: trial count, timeout, failure streak."""

    def __init__(self, trials: int | None, timeout: float | None) -> None:
        self.trials = trials
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.failure_limit = max(10, trials or 10)
        self.streak = 0

    def time_left(self) -> float | None:
        """Seconds left before the timeout (None: no timeout)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def expired(self) -> bool:
        left = self.time_left()
        return left is not None and left <= 0

    def full(self, claimed: int) -> bool:
        """Whether ``claimed`` trials (finished or running) fill the trial budget."""
        return self.trials is not None and claimed >= self.trials

    def note(self, failed: bool) -> str | None:
        """Count a finished trial; the reason to stop when too many failed in a row."""
        self.streak = self.streak + 1 if failed else 0
        if self.streak >= self.failure_limit:
            return f"{self.failure_limit} trials failed in a row"
        return None
