"""How a study stands, read back from its storage: counts, best trial(s), elapsed time."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from automl_rnn.errors import UserError

_STATE_NAMES = {
    OptunaState.COMPLETE: "complete",
    OptunaState.PRUNED: "pruned",
    OptunaState.FAIL: "failed",
    OptunaState.RUNNING: "running",
    OptunaState.WAITING: "waiting",
}


def load_study(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study:
    """Load study ``name``; a missing study is a one-line error listing the ones there are."""
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        known = ", ".join(sorted(names)) or "none yet"
        raise UserError(f"no study '{name}' in this workspace (studies: {known})") from None


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials by state, keyed complete / pruned / failed / running / waiting."""
    tally = Counter(_STATE_NAMES[t.state] for t in study.get_trials(deepcopy=False))
    return {name: tally.get(name, 0) for name in _STATE_NAMES.values()}


#: A number inside a failure reason ("gradient norm 1.7e+06", "nan at epoch 3").
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def failure_reasons(study: optuna.Study) -> dict[str, int]:
    """How often each kind of failure occurred, most frequent first.

    Reasons that differ only in their numbers are one kind (``diverged: gradient norm <n>``);
    a kind seen with one text only keeps it as it is.
    """
    failed = study.get_trials(deepcopy=False, states=(OptunaState.FAIL,))
    kinds: dict[str, list[str]] = {}
    for trial in failed:
        text = str(trial.user_attrs.get("reason", "unknown"))
        kinds.setdefault(_NUMBER.sub("<n>", text), []).append(text)
    by_count = sorted(kinds.items(), key=lambda item: -len(item[1]))  # stable: first seen first
    return {(kind if len(set(seen)) > 1 else seen[0]): len(seen) for kind, seen in by_count}


def trial_record(study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
    """One trial as the JSON ``best`` prints."""
    record: dict[str, Any] = {
        "study": study.study_name,
        "trial": trial.number,
        "state": _STATE_NAMES[trial.state],
    }
    if trial.values is not None and len(trial.values) > 1:
        record["values"] = list(trial.values)
    else:
        record["value"] = trial.value
    record.update(
        params=trial.user_attrs.get("params", trial.params),
        sampled=trial.params,
        metrics=trial.user_attrs.get("metrics", {}),
        seed=trial.user_attrs.get("seed"),
        checkpoint=trial.user_attrs.get("checkpoint"),
        mlflow_run_id=trial.user_attrs.get("mlflow_run_id"),
    )
    return record


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best completed trial (multi-objective: the Pareto-front trial best on the first
    objective); None before any trial completes."""
    if not study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,)):
        return None
    if len(study.directions) == 1:
        return study.best_trial
    return sorted_front(study)[0]


def sorted_front(study: optuna.Study) -> list[FrozenTrial]:
    """The Pareto front, best on the first objective first (in that objective's direction)."""
    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    return sorted(study.best_trials, key=lambda t: sign * t.values[0])


def best(study: optuna.Study) -> dict[str, Any]:
    """The best completed trial (multi-objective: the Pareto front, first objective first)."""
    top = best_trial(study)
    if top is None:
        raise UserError(f"study '{study.study_name}' has no completed trial yet")
    record = trial_record(study, top)
    if len(study.directions) == 1:
        return record
    front = sorted_front(study)
    record["pareto_front"] = [
        {
            "trial": t.number,
            "values": list(t.values),
            "params": t.user_attrs.get("params", t.params),
        }
        for t in front
    ]
    return record


def elapsed_seconds(study: optuna.Study) -> float:
    """From the first trial's start to the last trial's end (or now, while trials run)."""
    trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    if not starts:
        return 0.0
    running = any(t.state == OptunaState.RUNNING for t in trials)
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    end = datetime.now() if running or not ends else max(ends)
    return max(0.0, (end - min(starts)).total_seconds())


def status(study: optuna.Study) -> dict[str, Any]:
    """Counts by state, best so far and elapsed time (what ``automl-rnn status`` prints)."""
    payload: dict[str, Any] = {
        "study": study.study_name,
        "counts": counts(study),
        "elapsed_seconds": round(elapsed_seconds(study), 1),
        "failure_reasons": failure_reasons(study),
    }
    try:
        top = best(study)
        payload["best"] = {k: top[k] for k in ("trial", "value", "values", "params") if k in top}
    except UserError:
        payload["best"] = None
    return payload


def fmt(value: Any) -> str:
    """Compact number formatting for the terminal."""
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
