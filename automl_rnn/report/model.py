"""The report's read model: one :class:`StudySnapshot` read into what the report shows.

The only module of the report that reads study data. Everything else (the words, the plots, the
page) works on the :class:`ReportView` built here and on its :class:`TrialRecord` rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from automl_rnn.search.records import StudySnapshot, TrialRecord, TrialStatus


@dataclass(frozen=True)
class ReportView:
    """The study read once: objectives, trials by status, the best trial(s)."""

    name: str
    names: list[str]
    """One objective name per direction."""
    directions: list[str]
    experiment: dict[str, object]
    """The stored experiment spec (``{}`` when none was stored)."""
    kind: str | None
    trials: list[TrialRecord]
    complete: list[TrialRecord]
    pruned: list[TrialRecord]
    failed: list[TrialRecord]
    best: list[TrialRecord]
    """The best trial (single objective) or the Pareto front sorted by the first objective."""
    ranked: list[TrialRecord]
    """Completed trials, best first by the first objective."""
    elapsed_seconds: float
    classical: dict[str, dict[str, float | str]] = field(default_factory=dict)
    """Forecasts: the classical baselines' scores on the same windows."""

    @property
    def multi(self) -> bool:
        return len(self.directions) > 1

    @property
    def minimize(self) -> bool:
        return self.directions[0] == "minimize"

    def series_names(self) -> tuple[str, ...]:
        """Many series: their names in the data's order (the study's data read again, which
        ``test_rel_mae_*_series`` index); () for other data, or when it cannot be read now."""
        if not self.experiment.get("id_col") and not self.experiment.get("task"):
            return ()
        try:
            from automl_rnn.config.experiment import ExperimentSpec
            from automl_rnn.data import prepare
            from automl_rnn.data.panel_data import PanelData
            from automl_rnn.data.source import DataSource

            spec = ExperimentSpec.model_validate(self.experiment)
            prepared = prepare(DataSource.from_args(spec.data_args()))
        except Exception:  # the file moved or changed since the search: figures without names
            return ()
        return prepared.ids if isinstance(prepared, PanelData) else ()

    @property
    def running(self) -> int:
        """Trials still running or waiting to run."""
        return sum(t.status in (TrialStatus.RUNNING, TrialStatus.WAITING) for t in self.trials)


def read(snapshot: StudySnapshot) -> ReportView:
    """The report's view of ``snapshot``."""
    info = snapshot.info
    trials = list(snapshot.trials)
    complete = [t for t in trials if t.status == TrialStatus.COMPLETE and t.values is not None]
    best: list[TrialRecord] = []
    if complete:
        if len(info.directions) > 1:
            best = list(snapshot.pareto_front())
        elif (top := snapshot.best()) is not None:
            best = [top]
    kind = task_kind(snapshot)
    return ReportView(
        name=info.name,
        names=objective_names(snapshot, kind),
        directions=list(info.directions),
        experiment=dict(info.experiment),
        kind=kind,
        trials=trials,
        complete=complete,
        pruned=[t for t in trials if t.status == TrialStatus.PRUNED],
        failed=[t for t in trials if t.status == TrialStatus.FAILED],
        best=best,
        ranked=[t for t in snapshot.ranked() if t.values is not None],
        elapsed_seconds=snapshot.elapsed_seconds(),
        classical=dict(info.classical),
    )


def task_kind(snapshot: StudySnapshot) -> str | None:
    """The stored task kind; for studies written before it was stored, a guess from the metrics
    the completed trials recorded, else from the experiment."""
    if snapshot.info.kind:
        return snapshot.info.kind
    for trial in snapshot.trials:
        if trial.status != TrialStatus.COMPLETE:
            continue
        if "test_snaive_mae" in trial.metrics or "test_rel_mae" in trial.metrics:
            return "forecast"
        if "test_accuracy" in trial.metrics:
            return "classification"
    spec = snapshot.info.experiment
    if spec.get("task"):
        try:
            from automl_rnn.data.catalog import load_task

            return str(load_task(str(spec["task"]))[0].kind)
        except Exception:  # a task file moved or renamed since: labels only
            return None
    if spec.get("data"):
        if spec.get("id_col"):
            kind = spec.get("kind")  # else inferred from the data, not stored
            return str(kind) if kind else None
        return "classification" if spec.get("text_col") else "forecast"
    return None


def objective_names(snapshot: StudySnapshot, kind: str | None = None) -> list[str]:
    """The objectives' names, one per direction: the stored ones; for studies written before the
    kind and the names were stored, ``--objectives`` from the experiment, else the default of the
    task kind guessed from the metrics."""
    from automl_rnn.search.objectives import default_objective

    info = snapshot.info
    count = len(info.directions)
    if info.kind is not None and len(info.objective_names) == count:
        return list(info.objective_names)
    stored = info.experiment.get("objectives")
    if isinstance(stored, list) and len(stored) == count:
        return [str(name) for name in stored]
    if count == 1:
        return [default_objective(kind or task_kind(snapshot) or "")]
    return [f"objective {i + 1}" for i in range(count)]


# ---- one trial ---------------------------------------------------------------------------------


def value(trial: TrialRecord, index: int) -> float:
    """Objective ``index`` of a completed trial (NaN for any other)."""
    return float(trial.values[index]) if trial.values is not None else math.nan


def last_reported(trial: TrialRecord) -> float:
    """The last value the trial reported to the pruner (NaN when none)."""
    if not trial.intermediate:
        return math.nan
    return float(trial.intermediate[max(trial.intermediate)])


def curve(trial: TrialRecord, name: str) -> list[float]:
    """A per-epoch curve (``train_loss`` / ``val_loss`` / ``val_metric``); gaps as NaN."""
    values = trial.curves.get(name)
    if not isinstance(values, list):
        return []
    return [float(v) if isinstance(v, int | float) else math.nan for v in values]


def metric_curve(trial: TrialRecord) -> list[float]:
    """The validation metric per epoch: the stored curve, else the reported (pruning) values."""
    stored = curve(trial, "val_metric")
    if stored or not trial.intermediate:
        return stored
    last = max(trial.intermediate)
    return [float(trial.intermediate.get(step, math.nan)) for step in range(last + 1)]


def sampled_names(trials: Sequence[TrialRecord]) -> list[str]:
    """Every sampled parameter, those of the trials sampling the most first."""
    names: list[str] = []
    for trial in sorted(trials, key=lambda t: -len(t.sampled)):
        names += [n for n in trial.sampled if n not in names]
    return names


def status_word(trial: TrialRecord) -> str:
    """``complete`` / ``pruned`` / ``failed`` / ``running`` / ``waiting``."""
    return str(trial.status.value)
