"""Applying one task to a declared space: ``seq_len: auto`` becomes the data's candidates, the
topology choices are intersected with the task's, conditions are narrowed to what can still
happen, and first trials keep only the values the task leaves possible."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from automl_rnn.kinds import DECODER_TOPOLOGIES, TOPOLOGIES

from .fields import SpaceErrors, default_of, field_value
from .schema import AutoParam, CategoricalParam, Condition, FixedParam, Param


def resolve_seq_len(
    err: SpaceErrors, param: Param, candidates: Sequence[int] | None
) -> Param | None:
    """``seq_len: auto`` as the data's window lengths (fixed when one, None when there are none);
    any other parameter unchanged."""
    if not isinstance(param, AutoParam):
        return param
    if not candidates:
        return None
    values: list[int] = []
    for c in candidates:
        value = field_value(err, param.name, c, "seq_len candidate")
        if value is None:
            raise err(param.name, f"seq_len candidate {c!r} is not a length")
        if value not in values:
            values.append(value)
    if len(values) == 1:
        return FixedParam(name=param.name, value=values[0])
    return CategoricalParam(name=param.name, choices=tuple(values))


def resolve_topology(
    err: SpaceErrors, params: list[Param], topologies: Sequence[str] | None
) -> list[Param]:
    """The space's topology choices intersected with the task's (in the task's order; one left
    becomes fixed), or the task's added first when the space declares none."""
    if topologies is None:
        return params
    unknown = [t for t in topologies if t not in TOPOLOGIES]
    if unknown:
        raise err("topology", f"task topology {unknown[0]!r} is not one of {', '.join(TOPOLOGIES)}")
    task = list(dict.fromkeys(topologies))
    index = next((i for i, p in enumerate(params) if p.name == "topology"), None)
    if index is None:
        if not task:
            return params
        if len(task) == 1:
            return [FixedParam(name="topology", value=task[0]), *params]
        return [CategoricalParam(name="topology", choices=tuple(task)), *params]
    declared = params[index]
    space = (
        list(declared.choices)
        if isinstance(declared, CategoricalParam)
        else [getattr(declared, "value", None)]
    )
    kept = [t for t in task if t in space]
    if not kept:
        raise err("topology", f"none of the space's topologies {space} fits the task's {task}")
    if len(kept) == 1 and not declared.when:
        new: Param = FixedParam(name="topology", value=kept[0])
    else:
        new = CategoricalParam(name="topology", choices=tuple(kept), when=declared.when)
    return [*params[:index], new, *params[index + 1 :]]


def resolve_first_trials(
    points: Sequence[dict[str, Any]], params: list[Param]
) -> tuple[dict[str, Any], ...]:
    """The first trials for this task: values a parameter can no longer take (a topology the
    task does not fit, a parameter it dropped or fixed) are left to the sampler; duplicates and
    entries left empty go."""
    sampled = {p.name: p for p in params if not isinstance(p, FixedParam)}
    out: list[dict[str, Any]] = []
    for point in points:
        kept = {k: v for k, v in point.items() if k in sampled and sampled[k].contains(v)}
        if kept and kept not in out:
            out.append(kept)
    return tuple(out)


_NOTHING = object()


def drop_unreachable(params: list[Param]) -> list[Param]:
    """Simplify conditions for this task: drop parameters whose condition can never hold (e.g.
    teacher_forcing when the task has no encoder_decoder), drop conditions that always hold and
    condition values the referenced parameter can no longer take."""
    kept: dict[str, Param] = {}
    for param in params:
        if param.name == "teacher_forcing" and not _may_decode(kept):
            continue  # no topology here has a decoder: it would be sampled and never act
        when = _simplify(param.when, kept)
        if when is not None:
            kept[param.name] = replace(param, when=when) if when != param.when else param
    return list(kept.values())


def _may_decode(kept: dict[str, Param]) -> bool:
    """Whether some topology the space can sample (or the task's default) has a decoder."""
    topology = kept.get("topology")
    if topology is None:
        return True  # the task picks it at run time
    if isinstance(topology, FixedParam):
        return topology.value in DECODER_TOPOLOGIES
    return any(topology.contains(t) for t in DECODER_TOPOLOGIES)


def _simplify(when: Condition, kept: dict[str, Param]) -> Condition | None:
    """The condition narrowed to what can happen, or None when it can never hold."""
    out: Condition = {}
    for key, allowed in when.items():
        ref = kept.get(key)
        if ref is None or isinstance(ref, FixedParam):  # the value is known: default or fixed
            if (default_of(key) if ref is None else ref.value) not in allowed:
                return None
            continue
        # A conditional parameter may be absent, which compares as its default.
        absent = default_of(key) if ref.when else _NOTHING
        narrowed = tuple(v for v in allowed if ref.contains(v) or v == absent)
        if not narrowed:
            return None
        out[key] = narrowed
    return out
