"""What a study holds, as typed records, and the rules read from them (best trial, Pareto front).

:class:`TrialRecord` and :class:`StudyInfo` are written by :mod:`automl_rnn.search.ledger` (the
only module that knows how they are stored); everything that reads a study — ``best``,
``status``, ``report``, ``export``, the progress line, the MLflow parent run — reads these.
A :class:`StudySnapshot` is one consistent read; its methods are the one definition of the best
trial, the Pareto front, the counts by state and the failure tally.
"""

from __future__ import annotations

import enum
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from automl_rnn.ownership import owner_alive

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

#: A trial RUNNING with no owner recorded for longer than this is orphaned, not being started.
OWNER_GRACE_S = 60.0
#: On a shared database (``--storage``) a running trial's process notes the time this often...
HEARTBEAT_S = 10.0
#: ...and a RUNNING trial whose last note is older than this is stale, on whichever machine it
#: ran (another machine's pid cannot be checked; the clocks are assumed in step, e.g. by NTP).
HEARTBEAT_GRACE_S = 60.0
#: Per-epoch metrics kept in the ledger (compact; MLflow holds every curve in full).
CURVE_METRICS = ("train_loss", "val_loss", "val_metric")


class TrialStatus(str, enum.Enum):
    """Where a trial stands; the values are the words every command prints."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    RUNNING = "running"
    WAITING = "waiting"


#: JSON-ready values of trial parameters.
ParamValue = float | int | str | bool | None


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the ledger stores it (see the module docstring)."""

    number: int
    status: TrialStatus
    values: tuple[float, ...] | None = None
    """Objective values (one per objective), COMPLETE trials only."""
    params: dict[str, ParamValue] = field(default_factory=dict)
    """The parameters the trial trained with (defaults filled in); the sampled ones if none."""
    sampled: dict[str, ParamValue] = field(default_factory=dict)
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float | None]] = field(default_factory=dict)
    """Per-epoch ``train_loss`` / ``val_loss`` / ``val_metric``."""
    intermediate: dict[int, float] = field(default_factory=dict)
    """Per-epoch values reported to the pruner."""
    reason: str | None = None
    seed: int | None = None
    checkpoint: str | None = None
    mlflow_run_id: str | None = None
    owner: str | None = None
    retry_of: int | None = None
    epoch_checkpoint: str | None = None
    """The latest per-epoch snapshot (Ray backend), which a requeued copy continues from."""
    resume_from: str | None = None
    """The snapshot this trial was queued to continue from (a retry of an interrupted one)."""
    first_trial: bool = False
    heartbeat: float | None = None
    """When the trial's process last noted it was alive (a Unix time; shared databases only)."""
    started: datetime | None = None
    completed: datetime | None = None

    @property
    def value(self) -> float | None:
        """The first objective's value (None unless COMPLETE)."""
        return self.values[0] if self.values else None

    @property
    def finished(self) -> bool:
        return self.status in (TrialStatus.COMPLETE, TrialStatus.PRUNED, TrialStatus.FAILED)

    def to_json(self, study: str) -> dict[str, object]:
        """The trial as ``best --json`` prints it."""
        record: dict[str, object] = {
            "study": study,
            "trial": self.number,
            "state": self.status.value,
        }
        if self.values is not None and len(self.values) > 1:
            record["values"] = list(self.values)
        else:
            record["value"] = self.value
        record.update(
            params=self.params,
            sampled=self.sampled,
            metrics=self.metrics,
            seed=self.seed,
            checkpoint=self.checkpoint,
            mlflow_run_id=self.mlflow_run_id,
        )
        return record


@dataclass(frozen=True)
class StudyInfo:
    """Study-level facts: objectives, the stored experiment, where it was tracked."""

    name: str
    directions: tuple[str, ...]
    """``minimize`` / ``maximize``, one per objective."""
    objective_names: tuple[str, ...]
    experiment: dict[str, object] = field(default_factory=dict)
    """The stored experiment spec (JSON), ``{}`` for a study without one."""
    kind: str | None = None
    """The task kind (forecast, classification, ...), stored when the search starts."""
    task: str | None = None
    stopped: str | None = None
    """Why the last search stopped early (ten failures in a row), if it did."""
    tracking_uris: tuple[str, ...] = ()
    mlflow_parent_run_id: str | None = None
    classical: dict[str, dict[str, float | str]] = field(default_factory=dict)
    """Forecasts: the classical baselines' scores on the same windows
    (:mod:`automl_rnn.data.classical`), ``{}`` until the search scored them."""

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1

    def better(self, value: float, than: float) -> bool:
        """Whether ``value`` beats ``than`` on the first objective."""
        return value < than if self.directions[0] == "minimize" else value > than


#: A number inside a failure reason ("gradient norm 1.7e+06", "nan at epoch 3").
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass(frozen=True)
class StudySnapshot:
    """One consistent read of a study: its info and every trial, by number."""

    info: StudyInfo
    trials: tuple[TrialRecord, ...]

    def by_status(self, *statuses: TrialStatus) -> list[TrialRecord]:
        return [t for t in self.trials if t.status in statuses]

    @property
    def complete(self) -> list[TrialRecord]:
        """Completed trials that hold values."""
        return [t for t in self.by_status(TrialStatus.COMPLETE) if t.values]

    def claimed(self) -> int:
        """Trials that count towards ``--trials``: finished or running (queued ones do not)."""
        return sum(t.status not in (TrialStatus.WAITING, TrialStatus.FAILED) for t in self.trials)

    def counts(self) -> dict[str, int]:
        """Trials by state, keyed complete / pruned / failed / running / waiting."""
        tally = Counter(t.status for t in self.trials)
        return {status.value: tally.get(status, 0) for status in TrialStatus}

    def ranked(self) -> list[TrialRecord]:
        """Completed trials, best first on the first objective."""
        sign = 1.0 if self.info.directions[0] == "minimize" else -1.0
        return sorted(self.complete, key=lambda t: (sign * _first(t), t.number))

    def pareto_front(self) -> list[TrialRecord]:
        """The non-dominated completed trials, best first on the first objective."""
        signs = [1.0 if d == "minimize" else -1.0 for d in self.info.directions]
        done = self.complete
        keys = {t.number: [s * v for s, v in zip(signs, t.values or ())] for t in done}
        front = [
            t for t in done if not any(_dominates(keys[o.number], keys[t.number]) for o in done)
        ]
        return sorted(front, key=lambda t: (keys[t.number][0], t.number))

    def best(self) -> TrialRecord | None:
        """The best completed trial: the first objective's best (multi-objective: the Pareto-front
        trial best on the first objective; ties go to the earlier trial); None before any."""
        ranked = self.pareto_front() if self.info.multi_objective else self.ranked()
        return ranked[0] if ranked else None

    def is_best(self, values: Iterable[float]) -> bool:
        """Whether a trial ending with ``values`` would be the best so far (first objective)."""
        value = next(iter(values), math.nan)
        top = self.ranked()
        return math.isfinite(value) and (not top or self.info.better(value, _first(top[0])))

    def failure_reasons(self) -> dict[str, int]:
        """How often each kind of failure occurred, most frequent first.

        Reasons that differ only in their numbers are one kind (``diverged: gradient norm <n>``);
        a kind seen with one text only keeps it as it is.
        """
        kinds: dict[str, list[str]] = {}
        for trial in self.by_status(TrialStatus.FAILED):
            text = trial.reason or "unknown"
            kinds.setdefault(_NUMBER.sub("<n>", text), []).append(text)
        by_count = sorted(kinds.items(), key=lambda item: -len(item[1]))  # stable
        return {(kind if len(set(seen)) > 1 else seen[0]): len(seen) for kind, seen in by_count}

    def elapsed_seconds(self, now: datetime | None = None) -> float:
        """From the first trial's start to the last trial's end (or now, while trials run)."""
        starts = [t.started for t in self.trials if t.started is not None]
        if not starts:
            return 0.0
        ends = [t.completed for t in self.trials if t.completed is not None]
        running = any(t.status is TrialStatus.RUNNING for t in self.trials)
        end = (now or datetime.now()) if running or not ends else max(ends)
        return max(0.0, (end - min(starts)).total_seconds())

    def stale(self, now: datetime | None = None) -> list[TrialRecord]:
        """RUNNING trials whose process is gone (no owner after :data:`OWNER_GRACE_S`, an owner
        that no longer runs, or a heartbeat older than :data:`HEARTBEAT_GRACE_S`): a worker died
        while it trained them."""
        moment = now or datetime.now()
        found = []
        for trial in self.by_status(TrialStatus.RUNNING):
            if trial.heartbeat is not None and moment.timestamp() - trial.heartbeat > (
                HEARTBEAT_GRACE_S
            ):
                found.append(trial)  # its machine stopped noting it runs
            elif trial.owner is not None:
                if not owner_alive(trial.owner):
                    found.append(trial)
            elif trial.started is None or (moment - trial.started).total_seconds() >= OWNER_GRACE_S:
                found.append(trial)
        return found

    def starting(self, now: datetime | None = None) -> list[TrialRecord]:
        """RUNNING trials with no owner yet, within :data:`OWNER_GRACE_S` of their start: a
        worker is starting them, or died before it could say so (they turn stale at the end of
        the grace period)."""
        stale = {t.number for t in self.stale(now)}
        return [
            t
            for t in self.by_status(TrialStatus.RUNNING)
            if t.owner is None and t.heartbeat is None and t.number not in stale
        ]


def _first(trial: TrialRecord) -> float:
    return trial.values[0] if trial.values else math.nan


def _dominates(a: list[float], b: list[float]) -> bool:
    """``a`` is no worse than ``b`` everywhere and better somewhere (all minimised)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def curves(history: Sequence[Mapping[str, float]]) -> dict[str, list[float | None]]:
    """``{metric: [value per epoch]}`` for :data:`CURVE_METRICS` (None where not finite)."""
    return {
        name: [
            round(v, 6) if (v := epoch.get(name)) is not None and math.isfinite(v) else None
            for epoch in history
        ]
        for name in CURVE_METRICS
        if any(name in epoch for epoch in history)
    }
