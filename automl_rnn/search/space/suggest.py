"""Sampling: one define-by-run function for every backend, and the loaded :class:`SearchSpace`.

Optuna calls ``space.suggest(trial)``. Ray Tune uses ``OptunaSearch(space=space.define_by_run)``:
Ray records the values the trial suggests itself and wants only the constants back, so
``define_by_run`` samples with ``suggest`` and returns ``space.constants``; Ray's merged config
equals ``suggest``'s dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .schema import AutoParam, CategoricalParam, FixedParam, FloatParam, IntParam, Param

Choice = None | bool | int | float | str
"""A categorical value as Optuna stores it (``optuna.distributions.CategoricalChoiceType``)."""


class TrialLike(Protocol):
    """What ``suggest`` needs from a trial: Optuna's ``suggest_*`` methods, as on an
    ``optuna.Trial`` or the captor Ray's ``OptunaSearch`` wraps around one."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice: ...


def sample(param: Param, trial: TrialLike) -> Any:
    """One parameter's value: drawn from ``trial``, or the constant of a fixed one."""
    # The name goes first and positional: Ray's trial captor reads it from args[0].
    if isinstance(param, IntParam):
        return trial.suggest_int(param.name, param.low, param.high, step=param.step, log=param.log)
    if isinstance(param, FloatParam):
        return trial.suggest_float(
            param.name, param.low, param.high, step=param.step, log=param.log
        )
    if isinstance(param, CategoricalParam):
        return trial.suggest_categorical(param.name, list(param.choices))
    if isinstance(param, FixedParam):
        return param.value
    what = "seq_len: auto (resolve it with the task's data first)"
    raise TypeError(
        f"cannot sample {param.name}: {what if isinstance(param, AutoParam) else param}"
    )


def sample_point(params: Sequence[Param], trial: TrialLike) -> dict[str, Any]:
    """One point: parameters in order, each absent when its ``when`` fails."""
    values: dict[str, Any] = {}
    for param in params:
        if param.active(values):
            values[param.name] = sample(param, trial)
    return values


@dataclass(frozen=True)
class SearchSpace:
    """A loaded space: typed parameters in declaration order, the task already applied."""

    name: str
    path: Path
    description: str
    params: tuple[Param, ...]
    first_trials: tuple[dict[str, Any], ...] = ()

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def constants(self) -> dict[str, Any]:
        """The fixed values (always in ``suggest``'s dict, never asked from the trial)."""
        return {p.name: p.value for p in self.params if isinstance(p, FixedParam)}

    def suggest(self, trial: TrialLike) -> dict[str, Any]:
        """Sample one point: parameters in declaration order, absent when their ``when`` fails.

        Uses only ``trial.suggest_float / suggest_int / suggest_categorical``; the dict is valid
        as ``Hyperparams(**params)``.
        """
        return sample_point(self.params, trial)

    def define_by_run(self, trial: TrialLike) -> dict[str, Any]:
        """For ``ray.tune.search.optuna.OptunaSearch(space=...)``: samples, returns the constants."""
        self.suggest(trial)
        return self.constants

    def to_dict(self) -> dict[str, Any]:
        """For display: name, path, description, each parameter in the YAML form (+ type) and
        the first trials (when declared)."""
        out: dict[str, Any] = {
            "name": self.name,
            "path": str(self.path),
            "description": self.description,
            "params": {p.name: p.spec() for p in self.params},
        }
        if self.first_trials:
            out["first_trials"] = [dict(point) for point in self.first_trials]
        return out
