"""``export --ensemble K``: a forecast study's K best trials assembled into one graph.

The members are the first K trials of the study's ranking (the best-trial rule, on validation
values only). Their weights are the trials' kept checkpoints (or, with ``--refit``, each retrained
on train + validation). The assembled graph (:mod:`.ensemble`) is scored on the validation and test
windows next to each member, and checked to be the mean of its members: each member's forecasts
computed on its own windows, exactly as its trial scored them, averaged, must equal the graph's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.prepared import PreparedData
from automl_rnn.errors import ConfigError, UserError

if TYPE_CHECKING:
    from torch import Tensor

    from automl_rnn.export.ensemble import EnsembleNet
    from automl_rnn.search.records import StudySnapshot, TrialRecord

#: Relative tolerance (of the series' training spread) of "the graph is the members' mean".
MEAN_RTOL = 1e-5
SPLITS = ("val", "test")


def pick_members(snapshot: StudySnapshot, size: int) -> list[TrialRecord]:
    """The ``size`` best completed trials, best first; a clear refusal when there are fewer."""
    if size < 1:
        raise ConfigError(f"--ensemble {size}: give the number of best trials to average (2-10)")
    ranked = snapshot.ranked()
    if len(ranked) < size:
        raise UserError(
            f"--ensemble {size}: study '{snapshot.info.name}' has {len(ranked)} completed "
            f"trial(s); use --ensemble {max(1, len(ranked))} or fewer, or search longer"
        )
    return ranked[:size]


def one_series(prepared: PreparedData) -> ForecastData | None:
    """``prepared`` as forecasts of one series (what an ensemble averages), else None."""
    from automl_rnn.data.panel_data import PanelData

    if isinstance(prepared, PanelData) or not isinstance(prepared, ForecastData):
        return None
    return prepared


def check_supported(prepared: PreparedData, study: str) -> ForecastData:
    """Ensembles average forecasts of one series; other data are refused plainly."""
    from automl_rnn.data.panel_data import PanelData

    series = one_series(prepared)
    if series is None:
        what = "many series" if isinstance(prepared, PanelData) else f"a {prepared.kind} task"
        raise UserError(
            f"--ensemble: study '{study}' is {what}; ensembles are built for forecasts of one "
            "series so far: export one trial (without --ensemble)"
        )
    return series


@dataclasses.dataclass(frozen=True)
class Assembled:
    """The ensemble ready to write: graph, weights, its ``network`` spec and its scores."""

    net: EnsembleNet
    state: dict[str, Tensor]
    network: dict[str, Any]
    window: int
    metrics: dict[str, float]
    members: list[dict[str, Any]]


MemberWeights = Callable[[dict[str, Any], Hyperparams], dict[str, "Tensor"]]


def assemble(
    prepared: ForecastData, records: list[dict[str, Any]], weights_of: MemberWeights
) -> Assembled:
    """The ensemble of ``records`` (trial records, best first); ``weights_of(record, hp)`` gives
    a member's state_dict."""
    from automl_rnn.export import network
    from automl_rnn.export.ensemble import EnsembleNet, Member, MemberSpec, ensemble_spec
    from automl_rnn.training.recipe import arch_of, resolve_params

    specs, members, parts = [], [], []
    for record in records:
        hp = resolve_params(record["params"], prepared)
        shape = prepared.shape(str(hp.topology))
        spec = MemberSpec(arch_of(hp), shape, int(hp.seq_len or 0), str(hp.scaling))
        net = network.build_inference_net(
            network.network_spec(spec.arch, shape), weights_of(record, hp)
        )
        assert isinstance(net, network.InferenceNet)  # one trial's spec
        specs.append(spec)
        members.append(Member(net, spec.window, spec.scaling, prepared.d))
    ensemble = EnsembleNet(members).eval()
    metrics: dict[str, float] = {}
    alone: list[dict[str, float]] = [{} for _ in records]
    for split in SPLITS:
        mean = _forecasts(prepared, ensemble, split)
        own = [
            _member_forecasts(prepared, member, spec, split) for member, spec in zip(members, specs)
        ]
        _check_mean(prepared, split, mean, own)
        metrics.update(prepared.score(split, mean))
        for scores, forecast in zip(alone, own):
            scores.update(prepared.score(split, forecast))
    for record, spec, scores in zip(records, specs, alone):
        parts.append(
            {
                "trial": int(record["trial"]),
                "window": spec.window,
                "scaling": spec.scaling,
                "topology": spec.arch.topology,
                "cell": spec.arch.cell,
                **{k: round(v, 6) for k, v in scores.items() if "naive" not in k},
            }
        )
    state = {k: v.detach().contiguous().clone() for k, v in ensemble.state_dict().items()}
    return Assembled(
        ensemble, state, ensemble_spec(specs), ensemble.window, _rounded(metrics), parts
    )


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in metrics.items()}


def _forecasts(prepared: ForecastData, ensemble: EnsembleNet, split: str) -> np.ndarray:
    """The graph's forecasts of a split's windows, in the series' units."""
    from automl_rnn.export.network import run

    x = prepared.windows(split, ensemble.window, "global")["x"]
    y = run(ensemble, x).astype(np.float64)
    d = prepared.d
    return y * prepared.sd[:d] + prepared.mu[:d]  # type: ignore[no-any-return]


def _member_forecasts(prepared: ForecastData, member: Any, spec: Any, split: str) -> np.ndarray:
    """A member's forecasts on its own windows and scaling, as its trial scored them."""
    from automl_rnn.export.network import run

    windows = prepared.windows(split, spec.window, spec.scaling)
    y = run(member.net, windows["x"]).astype(np.float64)
    return y * windows["scale"] + windows["loc"]  # type: ignore[no-any-return]


def _check_mean(
    prepared: ForecastData, split: str, mean: np.ndarray, own: list[np.ndarray]
) -> None:
    expected = np.mean(own, axis=0)
    bound = MEAN_RTOL * prepared.sd[: prepared.d]
    if not np.all(np.abs(mean - expected) <= bound):
        worst = float(np.max(np.abs(mean - expected) / bound)) * MEAN_RTOL
        raise RuntimeError(
            f"export: the ensemble's {split} forecasts differ from its members' mean by "
            f"{worst:.3g} of the series' spread"
        )
