"""Objective names users write in ``--objectives``, resolved per task kind into the trial layer's
:class:`~automl_rnn.trial.objectives.Objective`."""

from __future__ import annotations

from automl_rnn import metric_names as M
from automl_rnn.errors import ConfigError, unknown_name
from automl_rnn.trial.objectives import Objective


def _per_kind(kind: str) -> dict[str, Objective]:
    objectives = {
        "val_loss": Objective("val_loss", M.VAL_LOSS, "minimize"),
        "params": Objective("params", "params", "minimize", per_epoch=False),
        "latency_ms": Objective("latency_ms", "latency_ms", "minimize", per_epoch=False),
    }
    if kind in ("forecast", "regression"):
        objectives["val_mae"] = Objective("val_mae", M.VAL_METRIC, "minimize")
    else:
        objectives["val_accuracy"] = Objective("val_accuracy", M.VAL_METRIC, "maximize")
    if kind == "tokens":
        objectives["val_exact"] = Objective("val_exact", M.VAL_EXACT, "maximize")
    return objectives


def default_objective(kind: str, many_series: bool = False) -> str:
    """A forecast of one series is compared in the data's units (``val_mae``): the loss is in
    scaled units, and scaling (global vs window) is itself searched. Many series are compared by
    the validation loss, in each window's scaled units: a pooled MAE would be decided by the
    largest series alone. Other kinds use the validation loss."""
    return "val_mae" if kind == "forecast" and not many_series else "val_loss"


def resolve_objectives(names: list[str], kind: str) -> list[Objective]:
    """Objectives for ``names``; the first must be known per epoch (it drives pruning)."""
    available = _per_kind(kind)
    resolved = []
    for name in names:
        if name not in available:
            raise ConfigError(f"objectives: {unknown_name('objective', name, available)}")
        resolved.append(available[name])
    if not resolved:
        raise ConfigError("objectives: give at least one objective, e.g. --objectives val_loss")
    if len(set(names)) != len(names):
        raise ConfigError(f"objectives: each objective once, got {','.join(names)}")
    if not resolved[0].per_epoch:
        raise ConfigError(
            f"objectives: the first objective must be a validation metric, got '{names[0]}' "
            "(e.g. --objectives val_loss,params)"
        )
    return resolved
