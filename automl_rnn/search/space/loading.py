"""Loading a space: a built-in name or a ``.yaml`` path, parsed, resolved for one task's
topologies and windows and statically checked, as a :class:`SearchSpace`; or described in full
for display, with no task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .catalog import find_space
from .checks import check_bidirectional, check_skip, check_tbptt
from .fields import SpaceErrors
from .parsing import parse_space
from .resolve import drop_unreachable, resolve_first_trials, resolve_seq_len, resolve_topology
from .schema import AutoParam
from .suggest import SearchSpace


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
    decl = parse_space(find_space(name_or_path))
    err = SpaceErrors(decl.path)
    params = [resolve_seq_len(err, p, seq_len_candidates) for p in decl.params]
    resolved = resolve_topology(err, [p for p in params if p is not None], topologies)
    resolved = drop_unreachable(resolved)
    check_bidirectional(err, resolved)
    check_skip(err, resolved)
    if not any(isinstance(p, AutoParam) for p in decl.params):  # auto: windows vary by data
        check_tbptt(err, resolved)
    first = resolve_first_trials(decl.first_trials, resolved)
    return SearchSpace(decl.path.stem, decl.path, decl.description, tuple(resolved), first)


def describe_space(name_or_path: str) -> dict[str, Any]:
    """One space for display (``automl-rnn spaces NAME``), with no task: every declared parameter,
    ``seq_len: auto`` included (its candidates come from a task's data, so none are listed)."""
    shown = load_space(name_or_path).to_dict()
    resolved = shown["params"]
    params: dict[str, Any] = {}
    for param in parse_space(find_space(name_or_path)).params:
        if isinstance(param, AutoParam):
            params[param.name] = (
                f"{param.spec()}: window lengths proposed from the training data (multiples of "
                "its seasonal period, autocorrelation peaks)"
            )
        elif param.name in resolved:
            params[param.name] = resolved[param.name]
    shown["params"] = {**params, **{k: v for k, v in resolved.items() if k not in params}}
    return shown
