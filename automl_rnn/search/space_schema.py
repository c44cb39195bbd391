"""Parse one ``search_spaces/*.yaml`` file into typed parameters (the format is in ``space.py``).

Every check that needs only the file happens here: names and keys (closest valid one suggested),
values against the ``Hyperparams`` field, bounds, log/step, choices and ``when:`` conditions. Each
failure is a :class:`ConfigError` of one line naming the file, the parameter and the value.
"""

from __future__ import annotations

import contextlib
import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from automl_rnn.config.hparams import HYPERPARAM_NAMES, Hyperparams
from automl_rnn.errors import ConfigError, closest, unknown_name

if TYPE_CHECKING:
    from automl_rnn.search.space import TrialLike

AUTO = "auto"
"""``seq_len: auto``: candidates come from the data when the space is loaded."""

Condition = dict[str, tuple[Any, ...]]
"""``when:`` after validation: earlier parameter name -> the values for which it holds."""


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


_M = TypeVar("_M", bound=BaseModel)


class _SpaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    params: dict[str, Any]
    first_trials: list[Any] = []


# ---- typed parameters --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Param:
    """One declared parameter; ``when`` is empty for unconditional ones."""

    name: str
    when: Condition = field(default_factory=dict)

    def active(self, values: dict[str, Any]) -> bool:
        """Whether ``when`` holds; an absent parameter counts as its ``Hyperparams`` default."""
        return all(values.get(k, default_of(k)) in allowed for k, allowed in self.when.items())

    def sample(self, trial: TrialLike) -> Any:
        raise NotImplementedError

    def domain(self) -> frozenset[Any] | None:
        """The finite set of values it can take, or None for a range."""
        return None

    def contains(self, value: Any) -> bool:
        domain = self.domain()
        return domain is not None and value in domain

    def spec(self) -> Any:
        """The YAML form (for display and round trips)."""
        raise NotImplementedError

    def _range_spec(self, kind: str, low: float, high: float, step: float | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": kind, "low": low, "high": high}
        if step is not None:
            spec["step"] = step
        if getattr(self, "log", False):
            spec["log"] = True
        return self._with_when(spec)

    def _with_when(self, spec: dict[str, Any]) -> dict[str, Any]:
        if self.when:
            spec["when"] = {k: v[0] if len(v) == 1 else list(v) for k, v in self.when.items()}
        return spec


@dataclass(frozen=True, kw_only=True)
class IntParam(Param):
    low: int
    high: int
    step: int = 1
    log: bool = False

    def sample(self, trial: TrialLike) -> int:
        # The name goes first and positional: Ray's trial captor reads it from args[0].
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def spec(self) -> dict[str, Any]:
        return self._range_spec("int", self.low, self.high, self.step if self.step != 1 else None)


@dataclass(frozen=True, kw_only=True)
class FloatParam(Param):
    low: float
    high: float
    step: float | None = None
    log: bool = False

    def sample(self, trial: TrialLike) -> float:
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not self.low <= value <= self.high:
            return False
        if self.step is None:
            return True
        steps = (value - self.low) / self.step
        return abs(steps - round(steps)) <= 1e-9 * max(1.0, abs(steps))

    def spec(self) -> dict[str, Any]:
        return self._range_spec("float", self.low, self.high, self.step)


@dataclass(frozen=True, kw_only=True)
class CategoricalParam(Param):
    choices: tuple[Any, ...]

    def sample(self, trial: TrialLike) -> Any:
        return trial.suggest_categorical(self.name, list(self.choices))

    def domain(self) -> frozenset[Any]:
        return frozenset(self.choices)

    def spec(self) -> dict[str, Any]:
        return self._with_when({"type": "categorical", "choices": list(self.choices)})


@dataclass(frozen=True, kw_only=True)
class FixedParam(Param):
    """A constant: returned by ``suggest`` without asking the trial."""

    value: Any

    def sample(self, trial: TrialLike) -> Any:
        return self.value

    def domain(self) -> frozenset[Any]:
        return frozenset([self.value])

    def spec(self) -> Any:
        return self.value


@dataclass(frozen=True, kw_only=True)
class AutoParam(Param):
    """``seq_len: auto`` before the data's candidates replace it (never sampled as such)."""

    def spec(self) -> str:
        return AUTO


@dataclass(frozen=True)
class SpaceDecl:
    """A parsed, validated file before the task's topologies and seq_len candidates apply."""

    path: Path
    description: str
    params: tuple[Param, ...]
    first_trials: tuple[dict[str, Any], ...] = ()


# ---- Hyperparams fields ------------------------------------------------------------------------


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


def field_value(err: SpaceErrors, name: str, value: Any, what: str = "value") -> Any:
    """``value`` validated (and coerced) against the ``Hyperparams`` field ``name``."""
    if isinstance(value, bool) and numeric_kind(name) is not None:
        raise err(name, f"{what} {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise err(name, f"{what} {value!r} is not finite")
    try:  # the other fields keep their defaults, so only this one can fail
        return getattr(Hyperparams.model_validate({name: value}), name)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise err(name, f"{what} {value!r} is invalid for {name}: {reason}") from None


# ---- parsing -----------------------------------------------------------------------------------


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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool | None):
                continue  # unhashable or odd keys: SafeLoader's own error (or the schema's)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """The file's data; malformed YAML is a ConfigError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read search space: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None


def parse_space(path: Path) -> SpaceDecl:
    """Read and validate one space file (see the format in ``automl_rnn.search.space``)."""
    err = SpaceErrors(path)
    data = read_yaml(path)
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
    first = tuple(
        _parse_first_trial(path, i, raw, params) for i, raw in enumerate(top.first_trials)
    )
    return SpaceDecl(
        path=path, description=top.description.strip(), params=tuple(params), first_trials=first
    )


def _parse_first_trial(path: Path, index: int, raw: Any, params: list[Param]) -> dict[str, Any]:
    """One ``first_trials`` entry: declared, sampled parameters with values inside their ranges,
    and no parameter whose ``when`` the entry's own values rule out."""
    err = SpaceErrors(path, f"first_trials[{index}]")
    if not isinstance(raw, dict) or not raw:
        raise err.file(f"{err.where}: expected a mapping of parameter: value (got {raw!r})")
    declared = {p.name: p for p in params}
    point: dict[str, Any] = {}
    for name, value in raw.items():
        param = declared.get(name)
        if param is None:
            raise err.file(
                f"{err.where}: " + unknown_name("declared parameter", str(name), declared)
            )
        if isinstance(param, AutoParam):
            raise err(name, f"'{name}: {AUTO}' takes its values from the data; leave it out")
        if isinstance(param, FixedParam):
            raise err(name, f"fixed to {param.value!r} for every trial; leave it out")
        checked = field_value(err, name, value)
        if not param.contains(checked):
            raise err(name, f"{checked!r} is outside the declared values {param.spec()!r}")
        point[name] = checked
    for name in point:
        param = declared[name]
        if all(k in point for k in param.when) and not param.active(point):
            when = {k: list(v) for k, v in param.when.items()}
            raise err(name, f"given, but its condition when: {when} does not hold in this entry")
    return point


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
    when = _parse_when(err, name, decl.when, earlier) if decl.when is not None else {}
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


def _parse_when(
    err: SpaceErrors, name: str, raw: dict[str, Any], earlier: list[Param]
) -> Condition:
    if not raw:
        raise err(name, "when is empty (got {})")
    declared = {p.name: p for p in earlier}
    when: Condition = {}
    for key, value in raw.items():
        if key not in HYPERPARAM_NAMES:
            hint = closest(str(key), HYPERPARAM_NAMES)
            raise err(name, f"condition on unknown parameter '{key}'{hint}")
        if key == name:
            raise err(name, f"condition on itself (got when: {{{key}: {value!r}}})")
        ref = declared.get(key)
        if ref is None:
            raise err(
                name,
                f"condition on '{key}', which is not declared before '{name}' "
                "(conditions may only refer to earlier parameters)",
            )
        if isinstance(ref, AutoParam | FloatParam):
            what = "seq_len: auto" if isinstance(ref, AutoParam) else "a float range"
            raise err(name, f"condition on '{key}', which is {what} (got {value!r})")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise err(name, f"condition on '{key}' lists no value (got [])")
        checked = []
        for v in values:
            v = field_value(err, key, v, f"condition value for '{key}'")
            if not ref.contains(v):
                raise err(
                    name,
                    f"condition value {v!r} is not among the values of '{key}' "
                    f"(declared: {ref.spec()!r})",
                )
            checked.append(v)
        when[key] = tuple(checked)
    return when
