"""The file's checks that relate parameters to each other: ``when:`` conditions (on parameters
declared earlier, with values they can take) and ``first_trials`` entries (declared, sampled
parameters inside their ranges, each one's condition holding in the entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_rnn.config.hparams import HYPERPARAM_NAMES
from automl_rnn.errors import closest, unknown_name

from .fields import SpaceErrors, field_value
from .schema import AUTO, AutoParam, Condition, FixedParam, FloatParam, Param


def parse_when(err: SpaceErrors, name: str, raw: dict[str, Any], earlier: list[Param]) -> Condition:
    """Parameter ``name``'s ``when:`` mapping, validated against the parameters before it."""
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
            v = field_value(err, key, v, f"condition value for '{key}'", owner=name)
            if not ref.contains(v):
                raise err(
                    name,
                    f"condition value {v!r} is not among the values of '{key}' "
                    f"(declared: {ref.spec()!r})",
                )
            checked.append(v)
        when[key] = tuple(checked)
    return when


def parse_first_trial(path: Path, index: int, raw: Any, params: list[Param]) -> dict[str, Any]:
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
