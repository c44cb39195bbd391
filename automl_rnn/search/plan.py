"""A search plan: the validated data, space and objectives a spec resolves to (before any trial)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.errors import ConfigError
from automl_rnn.search.objectives import default_objective, resolve_objectives
from automl_rnn.trial.objectives import Objective

if TYPE_CHECKING:  # imported when make_plan runs (numpy, YAML), not when this module loads
    from automl_rnn.data.prepared import PreparedData
    from automl_rnn.search.space import SearchSpace


@dataclass
class SearchPlan:
    """What every worker of one search shares: prepared data, search space, objectives."""

    prepared: PreparedData
    space: SearchSpace
    objectives: list[Objective]


def make_plan(spec: ExperimentSpec) -> SearchPlan:
    """Resolve and validate everything a user can get wrong, so errors come before any trial."""
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource
    from automl_rnn.search.space import load_space

    prepared = prepare(DataSource.from_args(spec.data_args()))
    if spec.topology == "auto":
        topologies = list(prepared.topologies)
    elif spec.topology in prepared.topologies:
        topologies = [spec.topology]
    else:
        raise ConfigError(
            f"--topology '{spec.topology}' does not fit task '{prepared.name}' "
            f"({prepared.kind}); choose one of: auto, {', '.join(prepared.topologies)}"
        )
    candidates = prepared.seq_len_candidates() if prepared.kind == "forecast" else None
    space = load_space(
        spec.space or prepared.default_space, topologies=topologies, seq_len_candidates=candidates
    )
    if prepared.kind == "forecast":
        _check_windows(space, prepared.max_seq_len)
    if prepared.many_series:
        _check_window_scaling(space)
    names = spec.objectives or [default_objective(prepared.kind, prepared.many_series)]
    return SearchPlan(prepared, space, resolve_objectives(list(names), prepared.kind))


def _check_window_scaling(space: SearchSpace) -> None:
    """Many series are scaled window by window: refuse a space that draws global scaling."""
    for param in space.params:
        domain = param.domain() if param.name == "scaling" else None
        if domain is not None and "global" in domain:
            raise ConfigError(
                f"{space.path}: scaling 'global' does not fit many series (they differ in scale; "
                "each window is scaled by its own statistics): write scaling: window"
            )


def _check_windows(space: SearchSpace, max_seq_len: int) -> None:
    """Refuse a space whose seq_len values the series cannot hold (before any trial fails)."""
    for param in space.params:
        if param.name != "seq_len":
            continue
        domain = param.domain()
        values = domain if domain is not None else {getattr(param, "high", 0)}
        too_long = sorted(int(v) for v in values if v is not None and int(v) > max_seq_len)
        if too_long:
            raise ConfigError(
                f"{space.path}: seq_len {too_long[0]} is longer than the series allows "
                f"(at most {max_seq_len} after horizon, validation and test)"
            )
