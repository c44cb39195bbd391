"""What a space file's values are checked against: the ``Hyperparams`` fields, and the one-line
errors that name the file, the parameter and the value."""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError

from automl_rnn.config.hparams import Hyperparams
from automl_rnn.errors import ConfigError


@dataclass(frozen=True)
class SpaceErrors:
    """Builds the one-line errors of one file (``where``: the part of it, e.g. a first trial)."""

    path: Path
    where: str = ""

    def __call__(self, param: str, problem: str) -> ConfigError:
        part = f"{self.where}: " if self.where else ""
        return ConfigError(f"{self.path}: {part}parameter '{param}': {problem}")

    def file(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {problem}")


def default_of(name: str) -> Any:
    """The ``Hyperparams`` default (what the runner uses when a parameter is absent)."""
    return Hyperparams.model_fields[name].default


def numeric_kind(name: str) -> Literal["int", "float"] | None:
    """``int`` or ``float`` for numeric fields (None allowed or not), else None."""
    annotation = Hyperparams.model_fields[name].annotation
    is_union = get_origin(annotation) in (Union, types.UnionType)
    args = [a for a in (get_args(annotation) if is_union else (annotation,)) if a is not type(None)]
    if args == [int]:
        return "int"
    if args == [float]:
        return "float"
    return None


def field_value(
    err: SpaceErrors, name: str, value: Any, what: str = "value", owner: str | None = None
) -> Any:
    """``value`` validated (and coerced) against the ``Hyperparams`` field ``name``; an error
    names ``owner`` (the parameter whose declaration holds the value: a condition's value is
    checked against another parameter's field), ``name`` by default."""
    about = owner or name
    if isinstance(value, bool) and numeric_kind(name) is not None:
        raise err(about, f"{what} {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise err(about, f"{what} {value!r} is not finite")
    try:  # the other fields keep their defaults, so only this one can fail
        return getattr(Hyperparams.model_validate({name: value}), name)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise err(about, f"{what} {value!r} is invalid for {name}: {reason}") from None
