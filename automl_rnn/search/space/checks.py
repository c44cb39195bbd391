"""Static checks of a space resolved for one task: combinations no sample may produce
(bidirectional with truncated BPTT or a one-way topology; a seasonal-naive skip with a topology
that forecasts step by step; a fixed tbptt_steps no window exceeds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automl_rnn.kinds import BIDIRECTIONAL_TOPOLOGIES, SKIP_TOPOLOGIES, TOPOLOGIES

from .fields import SpaceErrors, default_of
from .schema import CategoricalParam, FixedParam, IntParam, Param

Wanted = frozenset[Any] | Callable[[Any], bool]
"""The values wanted of one parameter: a set, or a test."""


def check_tbptt(err: SpaceErrors, params: list[Param]) -> None:
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


def check_bidirectional(err: SpaceErrors, params: list[Param]) -> None:
    """Refuse a space in which some sample has bidirectional true with truncated BPTT or with a
    topology whose encoder cannot run both ways."""
    declared = {p.name: p for p in params}
    if "bidirectional" not in declared:
        return
    _refuse_clash(err, declared, "bidirectional", True, "tbptt_steps", lambda v: v is not None,
                  "a non-null tbptt_steps (needs full BPTT)")  # fmt: skip
    _refuse_topologies(err, declared, "bidirectional", True, BIDIRECTIONAL_TOPOLOGIES)


def check_skip(err: SpaceErrors, params: list[Param]) -> None:
    """Refuse a space in which some sample adds the seasonal-naive skip to a topology that
    forecasts from every step (seq2seq) or from no window (vec2seq)."""
    declared = {p.name: p for p in params}
    if "skip" in declared:
        _refuse_topologies(err, declared, "skip", "seasonal_naive", SKIP_TOPOLOGIES)


def _refuse_topologies(
    err: SpaceErrors, declared: dict[str, Param], name: str, value: Any, allowed: frozenset[str]
) -> None:
    """Refuse ``name: value`` where a sample can pair it with a topology outside ``allowed``."""
    others = frozenset(TOPOLOGIES) - allowed
    what = f"a topology other than {', '.join(sorted(allowed))}"
    _refuse_clash(err, declared, name, value, "topology", others, what)


def _refuse_clash(
    err: SpaceErrors,
    declared: dict[str, Param],
    name: str,
    value: Any,
    other: str,
    wanted: Wanted,
    what: str,
) -> None:
    """Refuse ``name: value`` where one sample can give ``other`` a ``wanted`` value."""
    if can_cooccur(declared, {name: frozenset([value]), other: wanted}):
        shown = str(value).lower() if isinstance(value, bool) else value
        raise err(
            name,
            f"{shown} can be sampled together with {what}; "
            f"exclude it with when: (got {declared[name].spec()!r})",
        )


def can_cooccur(declared: dict[str, Param], wanted: dict[str, Wanted]) -> bool:
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
