"""Read and validate one ``search_spaces/*.yaml`` file into typed parameters (the format is in
:mod:`automl_rnn.search.space`).

Every check that needs only the file happens here: names and keys (closest valid one suggested),
values against the ``Hyperparams`` field, bounds, log/step, choices and ``when:`` conditions. Each
failure is a :class:`ConfigError` of one line naming the file, the parameter and the value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from automl_rnn.config.hparams import HYPERPARAM_NAMES
from automl_rnn.errors import ConfigError, closest, unknown_name
from automl_rnn.yamlio import load_yaml

from .conditions import parse_first_trial, parse_when
from .fields import SpaceErrors, field_value, numeric_kind
from .schema import (
    AUTO,
    AutoParam,
    CategoricalParam,
    Condition,
    FixedParam,
    FloatParam,
    IntParam,
    Param,
    SpaceDecl,
)


class _ParamDecl(BaseModel):
    """The mapping form of one parameter: a range (``low``/``high``) or ``choices``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["int", "float", "categorical"] | None = None
    low: Any = None
    high: Any = None
    log: bool = False
    step: Any = None
    choices: list[Any] | None = None
    when: dict[str, Any] | None = None


class _SpaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    params: dict[str, Any]
    first_trials: list[Any] = []


_M = TypeVar("_M", bound=BaseModel)


def parse_space(path: Path) -> SpaceDecl:
    """Read and validate one space file (see the format in ``automl_rnn.search.space``)."""
    err = SpaceErrors(path)
    data = load_yaml(path, "search space")
    if not isinstance(data, dict):
        raise err.file(f"expected a mapping with 'description' and 'params', got {data!r}")
    top = _validated(_SpaceFile, data, err.file)
    if not top.params:
        raise err.file("'params' declares no parameter")
    params: list[Param] = []
    for name, raw in top.params.items():
        if name not in HYPERPARAM_NAMES:
            raise err.file(unknown_name("parameter", str(name), HYPERPARAM_NAMES))
        params.append(_parse_param(err, name, raw, params))
    first = tuple(parse_first_trial(path, i, raw, params) for i, raw in enumerate(top.first_trials))
    return SpaceDecl(
        path=path, description=top.description.strip(), params=tuple(params), first_trials=first
    )


def _validated(model: type[_M], raw: dict[Any, Any], error: Callable[[str], ConfigError]) -> _M:
    """``raw`` as ``model``: an unknown key gets the closest valid one, other errors their value."""
    keys = list(model.model_fields)
    for key in raw:
        if key not in keys:
            raise error(f"unknown key '{key}'{closest(str(key), keys)}; valid: {', '.join(keys)}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise error(f"{loc}: {first['msg']} (got {first.get('input')!r})") from None


def _parse_param(err: SpaceErrors, name: str, raw: Any, earlier: list[Param]) -> Param:
    if raw == AUTO:
        if name != "seq_len":
            raise err(name, f"'{AUTO}' is only supported for seq_len (got {name}: {AUTO})")
        return AutoParam(name=name)
    if isinstance(raw, list):
        raise err(name, f"write choices as {{choices: {raw!r}}} (got a bare list {raw!r})")
    if not isinstance(raw, dict):
        return FixedParam(name=name, value=field_value(err, name, raw))
    decl = _validated(_ParamDecl, raw, lambda problem: err(name, problem))
    when = parse_when(err, name, decl.when, earlier) if decl.when is not None else {}
    if decl.choices is not None:
        return _categorical(err, name, decl, when)
    return _range(err, name, decl, when)


def _categorical(err: SpaceErrors, name: str, decl: _ParamDecl, when: Condition) -> Param:
    extra = [k for k in ("low", "high", "step") if getattr(decl, k) is not None]
    if decl.log:
        extra.append("log")
    if extra:
        raise err(
            name, f"choices cannot be combined with {', '.join(extra)} (got {decl.choices!r})"
        )
    if decl.type not in (None, "categorical"):
        raise err(name, f"type {decl.type} does not match choices (got {decl.choices!r})")
    if not decl.choices:
        raise err(name, "choices is empty (got [])")
    choices = [field_value(err, name, c, "choice") for c in decl.choices]
    duplicates = sorted({repr(c) for c in choices if choices.count(c) > 1})
    if duplicates:
        raise err(name, f"choice {duplicates[0]} is listed twice (got {decl.choices!r})")
    return CategoricalParam(name=name, choices=tuple(choices), when=when)


def _range(err: SpaceErrors, name: str, decl: _ParamDecl, when: Condition) -> Param:
    kind = numeric_kind(name)
    if decl.low is None and decl.high is None:
        raise err(
            name,
            "needs low/high or choices; a fixed value is written `name: value` "
            f"(got {decl.model_dump(exclude_defaults=True)!r})",
        )
    if kind is None:
        raise err(name, f"{name} is not numeric: use choices (got low={decl.low!r})")
    if decl.low is None or decl.high is None:
        raise err(name, f"needs both low and high (got low={decl.low!r}, high={decl.high!r})")
    if decl.type not in (None, kind):
        raise err(name, f"{name} is {kind} in Hyperparams (got type {decl.type})")
    cast = int if kind == "int" else float
    low = cast(field_value(err, name, decl.low, "low"))
    high = cast(field_value(err, name, decl.high, "high"))
    if low > high:
        raise err(name, f"low > high (got low={low!r}, high={high!r})")
    if decl.log and low <= 0:
        raise err(name, f"log scale needs low > 0 (got low={low!r})")
    if decl.log and decl.step is not None:
        raise err(name, f"log cannot be combined with step (got step={decl.step!r})")
    if decl.step is None:
        if kind == "int":
            return IntParam(name=name, low=int(low), high=int(high), log=decl.log, when=when)
        return FloatParam(name=name, low=low, high=high, log=decl.log, when=when)
    step = _step(err, name, kind, decl.step, low, high)
    if kind == "int":
        return IntParam(name=name, low=int(low), high=int(high), step=int(step), when=when)
    return FloatParam(name=name, low=low, high=high, step=step, when=when)


def _step(err: SpaceErrors, name: str, kind: str, raw: Any, low: float, high: float) -> float:
    if isinstance(raw, str):  # YAML reads 1e-3 (no dot) as text
        with contextlib.suppress(ValueError):
            raw = float(raw)
    valid = not isinstance(raw, bool) and isinstance(raw, int | float) and raw > 0
    if not valid or (kind == "int" and not float(raw).is_integer()):
        raise err(name, f"step must be a positive {kind} (got step={raw!r})")
    steps = (high - low) / raw
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise err(
            name,
            f"high - low must be a multiple of step (got low={low!r}, high={high!r}, step={raw!r})",
        )
    return float(raw)
