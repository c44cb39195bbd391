"""Search spaces: declared once as YAML, sampled by one define-by-run function for every backend.

File format (``search_spaces/*.yaml``; ``search_spaces/README.md`` has the long form)::

    description: Default space for forecast tasks.
    params:                                          # names are the fields of Hyperparams
      topology: {choices: [seq2vec, encoder_decoder]}   # intersected with the task's topologies
      cell: {choices: [lstm, gru]}                   # categorical
      num_layers: {low: 1, high: 2}                  # int (the field's type), bounds inclusive
      hidden_size: {low: 16, high: 128, log: true}   # log scale (low > 0, no step)
      batch_size: {low: 16, high: 64, step: 16}      # step: high - low must be a multiple
      lr: {low: 1.0e-3, high: 3.0e-2, log: true}     # float (write 1.0e-3: YAML reads 1e-3 as text)
      dropout: {low: 0.0, high: 0.3, when: {num_layers: 2}}   # sampled only when the condition holds
      seq_len: auto                                  # candidates from the data, else dropped
      tbptt_steps: {choices: [null, 32], when: {bidirectional: false}}
      optimizer: adam                                # fixed value
    first_trials:                                    # optional: run these points first
      - {topology: seq2vec, cell: lstm, hidden_size: 64, lr: 1.0e-2}   # the rest is sampled

Keys of a parameter: ``low, high, log, step, choices, when`` and an optional ``type`` (int, float or
categorical) that must agree with the ``Hyperparams`` field. ``when:`` maps parameters declared
*earlier* to a value or a list of values; all must hold. A parameter that is absent from the sampled
dict (not declared, or its own condition failed) counts as its ``Hyperparams`` default, which is what
the runner will use: ``when: {bidirectional: false}`` holds when bidirectional was not sampled.

Loading applies the task: ``topology`` choices are intersected with the task's topologies (in the
task's order; one left becomes fixed) and added as a categorical when the space does not declare it;
``seq_len: auto`` becomes a categorical over the data's candidates (dropped without candidates).

``first_trials`` are points a user already trusts (a configuration that worked before), which
every new study evaluates before its sampler takes over (Optuna's ``enqueue_trial``, Ray Tune's
``points_to_evaluate``, SMAC's default configuration). Each names declared, sampled parameters
with values inside their ranges; parameters it leaves out are sampled. Loading for a task drops
the values the task rules out (a topology it does not fit).

``tbptt_steps`` choices are static (Optuna refuses a categorical whose choices change between
trials): a chunk length >= the sampled ``seq_len`` means full BPTT, and the runner normalises it.
``bidirectional`` needs full BPTT and a seq2vec or encoder_decoder topology; the loader refuses a
space in which any sample could break that (express the exclusion with ``when:``).

Backends: Optuna calls ``space.suggest(trial)``. Ray Tune uses
``OptunaSearch(space=space.define_by_run)``: Ray records the values the trial suggests itself and
wants only the constants back, so ``define_by_run`` samples with ``suggest`` and returns
``space.constants``; Ray's merged config equals ``suggest``'s dict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from automl_rnn.errors import ConfigError, unknown_name
from automl_rnn.kinds import BIDIRECTIONAL_TOPOLOGIES, DECODER_TOPOLOGIES, TOPOLOGIES
from automl_rnn.resources import spaces_dir
from automl_rnn.search.space_schema import (
    AutoParam,
    CategoricalParam,
    Condition,
    FixedParam,
    IntParam,
    Param,
    SpaceErrors,
    default_of,
    field_value,
    parse_space,
)

__all__ = ["SearchSpace", "TrialLike", "list_spaces", "load_space"]


class TrialLike(Protocol):
    """What ``suggest`` needs from a trial: an ``optuna.Trial`` or Ray's captor around one."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


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
        values: dict[str, Any] = {}
        for param in self.params:
            if param.active(values):
                values[param.name] = param.sample(trial)
        return values

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


def builtin_spaces() -> dict[str, Path]:
    """Built-in space names -> files."""
    return {p.stem: p for p in sorted(spaces_dir().glob("*.yaml"))}


def _find(name_or_path: str) -> Path:
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"search space file not found: {name_or_path}")
        return path
    builtins = builtin_spaces()
    if name_or_path not in builtins:
        raise ConfigError(
            unknown_name("search space", name_or_path, builtins) + " (or a .yaml path)"
        )
    return builtins[name_or_path]


def load_space(
    name_or_path: str,
    *,
    topologies: Sequence[str] | None = None,
    seq_len_candidates: Sequence[int] | None = None,
) -> SearchSpace:
    """Load a built-in space by name (see ``list_spaces``) or a ``.yaml`` file, for one task.

    ``topologies``: the task's fitting topologies, in its order of preference (None: keep the
    space's). ``seq_len_candidates``: window lengths proposed from the data for ``seq_len: auto``
    (None: the task has no input window, ``seq_len`` is dropped).
    """
    decl = parse_space(_find(name_or_path))
    err = SpaceErrors(decl.path)
    params = [_resolve_seq_len(err, p, seq_len_candidates) for p in decl.params]
    resolved = _resolve_topology(err, [p for p in params if p is not None], topologies)
    resolved = _drop_unreachable(resolved)
    _check_bidirectional(err, resolved)
    if not any(isinstance(p, AutoParam) for p in decl.params):  # auto: windows vary by data
        _check_tbptt(err, resolved)
    first = _resolve_first_trials(decl.first_trials, resolved)
    return SearchSpace(decl.path.stem, decl.path, decl.description, tuple(resolved), first)


def _check_tbptt(err: SpaceErrors, params: list[Param]) -> None:
    """A fixed ``tbptt_steps`` must be below some ``seq_len`` the space declares: otherwise every
    trial would quietly train with full BPTT (choices may hold longer values: those mean full
    BPTT for the shorter windows, as documented; so does any value against ``seq_len: auto``,
    whose windows depend on the data)."""
    by_name = {p.name: p for p in params}
    tbptt, seq_len = by_name.get("tbptt_steps"), by_name.get("seq_len")
    if not isinstance(tbptt, FixedParam) or not isinstance(tbptt.value, int) or seq_len is None:
        return
    if isinstance(seq_len, FixedParam) and isinstance(seq_len.value, int):
        longest = seq_len.value
    elif isinstance(seq_len, CategoricalParam):
        longest = max(c for c in seq_len.choices if isinstance(c, int))
    elif isinstance(seq_len, IntParam):
        longest = seq_len.high
    else:
        return
    if tbptt.value >= longest:
        raise err(
            "tbptt_steps",
            f"{tbptt.value} is not below seq_len (at most {longest}): truncated BPTT needs "
            "chunks shorter than the window; give a smaller value, or null for full BPTT",
        )


def describe_space(name_or_path: str) -> dict[str, Any]:
    """One space for display (``automl-rnn spaces NAME``), with no task: every declared parameter,
    ``seq_len: auto`` included (its candidates come from a task's data, so none are listed)."""
    shown = load_space(name_or_path).to_dict()
    resolved = shown["params"]
    params: dict[str, Any] = {}
    for param in parse_space(_find(name_or_path)).params:
        if isinstance(param, AutoParam):
            params[param.name] = (
                f"{param.spec()}: window lengths proposed from the training data (multiples of "
                "its seasonal period, autocorrelation peaks)"
            )
        elif param.name in resolved:
            params[param.name] = resolved[param.name]
    shown["params"] = {**params, **{k: v for k, v in resolved.items() if k not in params}}
    return shown


def list_spaces() -> list[dict[str, Any]]:
    """The built-in spaces: name, description, declared parameter names and path."""
    out = []
    for name, path in builtin_spaces().items():
        decl = parse_space(path)
        params = [p.name for p in decl.params]
        out.append(
            {"name": name, "description": decl.description, "params": params, "path": str(path)}
        )
    return out


# ---- resolution for one task -------------------------------------------------------------------


def _resolve_seq_len(
    err: SpaceErrors, param: Param, candidates: Sequence[int] | None
) -> Param | None:
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


def _resolve_topology(
    err: SpaceErrors, params: list[Param], topologies: Sequence[str] | None
) -> list[Param]:
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


def _resolve_first_trials(
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


def _drop_unreachable(params: list[Param]) -> list[Param]:
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


# ---- static checks -----------------------------------------------------------------------------

Wanted = frozenset[Any] | Callable[[Any], bool]


def _check_bidirectional(err: SpaceErrors, params: list[Param]) -> None:
    """Refuse a space in which some sample has bidirectional true with truncated BPTT or with a
    topology whose encoder cannot run both ways."""
    declared = {p.name: p for p in params}
    if "bidirectional" not in declared:
        return
    clashes: list[tuple[str, Wanted, str]] = [
        ("tbptt_steps", lambda v: v is not None, "a non-null tbptt_steps (needs full BPTT)"),
        (
            "topology",
            frozenset(TOPOLOGIES) - BIDIRECTIONAL_TOPOLOGIES,
            f"a topology other than {', '.join(sorted(BIDIRECTIONAL_TOPOLOGIES))}",
        ),
    ]
    for other, wanted, what in clashes:
        if _can_cooccur(declared, {"bidirectional": frozenset([True]), other: wanted}):
            raise err(
                "bidirectional",
                f"true can be sampled together with {what}; "
                f"exclude it with when: (got {declared['bidirectional'].spec()!r})",
            )


def _can_cooccur(declared: dict[str, Param], wanted: dict[str, Wanted]) -> bool:
    """Whether one sample can give every parameter in ``wanted`` a wanted value.

    Propagates conditions: a parameter that must be present (its default is not wanted) needs its
    ``when`` to hold too. Over-approximates (a conditional parameter whose default is wanted is
    assumed absent without checking that its condition can fail), so a True can be a false alarm,
    never a miss. Terminates because conditions only refer to earlier parameters.
    """
    wants: dict[str, list[Wanted]] = {}
    queue: list[tuple[str, Wanted]] = list(wanted.items())
    while queue:
        name, want = queue.pop()
        wants.setdefault(name, []).append(want)
        param = declared.get(name)
        if (param is None or param.when) and all(_ok(w, default_of(name)) for w in wants[name]):
            continue  # absent: the runner's default is a wanted value
        if param is None or not _present_value(param, wants[name]):
            return False
        queue.extend((key, frozenset(values)) for key, values in param.when.items())
    return True


def _ok(want: Wanted, value: Any) -> bool:
    return value in want if isinstance(want, frozenset) else want(value)


def _present_value(param: Param, wants: list[Wanted]) -> bool:
    """Whether the parameter, when present, can take a value every want accepts."""
    sets = [w for w in wants if isinstance(w, frozenset)]
    candidates = param.domain()
    if candidates is None and sets:  # a range: the explicit wants inside it
        candidates = frozenset(v for v in frozenset.intersection(*sets) if param.contains(v))
    elif candidates is None:  # a range, only predicates (non-null): its low stands for any value
        candidates = frozenset([getattr(param, "low", None)])
    return any(all(_ok(w, v) for w in wants) for v in candidates)
