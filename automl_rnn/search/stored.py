"""The study's storage format: the user-attribute keys the ledger writes, and how a stored trial
or study attribute reads back as a record. Only :mod:`automl_rnn.search.ledger` imports it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from automl_rnn.search.records import TrialRecord, TrialStatus

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

# ---- storage keys (trial user attributes) ------------------------------------------------------
REASON, PARAMS, METRICS, CURVES = "reason", "params", "metrics", "curves"
SEED, CHECKPOINT, RUN_ID, OWNER = "seed", "checkpoint", "mlflow_run_id", "owner"
RETRY_OF, FIRST_TRIAL = "retry_of", "first_trial"
EPOCH_CHECKPOINT, RESUME_FROM, HEARTBEAT = "epoch_checkpoint", "resume_from", "heartbeat"
# ---- storage keys (study user attributes) ------------------------------------------------------
EXPERIMENT, KIND, OBJECTIVES, STOPPED = "experiment", "task_kind", "objective_names", "stopped"
TRACKING_URIS, PARENT_RUN = "tracking_uris", "mlflow_parent_run_id"
CLASSICAL = "classical_baselines"


STATUS_OF = {
    "COMPLETE": TrialStatus.COMPLETE,
    "PRUNED": TrialStatus.PRUNED,
    "FAIL": TrialStatus.FAILED,
    "RUNNING": TrialStatus.RUNNING,
    "WAITING": TrialStatus.WAITING,
}


def record(trial: FrozenTrial) -> TrialRecord:
    attrs = trial.user_attrs
    params = attrs.get(PARAMS)
    metrics = attrs.get(METRICS)
    seed, retry = attrs.get(SEED), attrs.get(RETRY_OF)
    status = STATUS_OF[trial.state.name]
    return TrialRecord(
        number=trial.number,
        status=status,
        values=tuple(trial.values) if trial.values and status is TrialStatus.COMPLETE else None,
        params=dict(params) if isinstance(params, dict) else dict(trial.params),
        sampled=dict(trial.params),
        distributions=dict(trial.distributions),
        metrics={str(k): float(v) for k, v in (metrics or {}).items() if is_number(v)},
        curves=dict(attrs.get(CURVES) or {}),
        intermediate=dict(trial.intermediate_values),
        reason=text(attrs.get(REASON)),
        seed=int(seed) if isinstance(seed, int) else None,
        checkpoint=text(attrs.get(CHECKPOINT)),
        mlflow_run_id=text(attrs.get(RUN_ID)),
        owner=text(attrs.get(OWNER)),
        retry_of=int(retry) if isinstance(retry, int) else None,
        epoch_checkpoint=text(attrs.get(EPOCH_CHECKPOINT)),
        resume_from=text(attrs.get(RESUME_FROM)),
        heartbeat=float(beat) if isinstance(beat := attrs.get(HEARTBEAT), int | float) else None,
        first_trial=bool(attrs.get(FIRST_TRIAL)),
        started=trial.datetime_start,
        completed=trial.datetime_complete,
    )


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def objective_names(
    stored: object, spec: Mapping[str, object], kind: str | None, count: int
) -> tuple[str, ...]:
    """The stored names; for studies written before they were stored: ``--objectives``, else the
    task kind's default, else ``objective N``."""
    from automl_rnn.search.objectives import default_objective

    for names in (stored, spec.get("objectives")):
        if isinstance(names, list) and len(names) == count:
            return tuple(str(n) for n in names)
    if count == 1 and kind:
        return (default_objective(kind),)
    return tuple(f"objective {i + 1}" for i in range(count))


def classical_scores(stored: object) -> dict[str, dict[str, float | str]]:
    scores = stored.get("scores") if isinstance(stored, dict) else None
    if not isinstance(scores, dict):
        return {}
    return {
        str(key): {str(k): v for k, v in value.items() if isinstance(v, (int, float, str))}
        for key, value in scores.items()
        if isinstance(value, dict)
    }
