"""The ensemble graph (``automl_rnn.export.ensemble``): each member reads the longest window in
the training statistics' units and must forecast exactly what it forecasts on its own windows and
scaling (as its trial was trained and scored); the graph is the members' mean. Checked against
``ForecastData.windows`` (training's own windows), on a series with a flat stretch where the
window scaling's floor binds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_rnn.data.forecast import SCALE_FLOOR, ForecastData
from automl_rnn.data.series import RawSeries
from automl_rnn.errors import UserError
from automl_rnn.export.ensemble import EnsembleNet, Member, MemberSpec, ensemble_spec
from automl_rnn.export.network import InferenceNet, build_inference_net, run
from automl_rnn.models.factory import ArchConfig, build_network

N, H, SEASON, VAL, TEST = 90, 3, 4, 15, 12
LONG = 16


def data(flat: bool) -> ForecastData:
    """Trend + season + noise and a covariate; ``flat``: the target stands still over the
    validation part's first 14 steps (window scaling's floor binds there)."""
    rng = np.random.default_rng(0)
    index = np.arange(N, dtype=float)
    target = 50 + 0.8 * index + 6 * np.sin(index * np.pi / 2) + rng.normal(0, 1, N)
    if flat:
        target[N - VAL - TEST - 8 : N - VAL - TEST + 6] = 91.0
    values = np.stack([target, 10 * np.cos(index / 5) + rng.normal(0, 1, N)], axis=1)
    raw = RawSeries("toy.csv", ("y", "x"), 1, values, np.arange(N) + 2)
    return ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)


def member(d: ForecastData, window: int, scaling: str, seed: int, topology: str) -> Member:
    torch.manual_seed(seed)
    arch = ArchConfig("gru" if seed % 2 else "lstm", topology, 1, 8)
    shape = d.shape(topology)
    return Member(InferenceNet(build_network(arch, shape), arch, shape).eval(), window, scaling, 1)


def in_units(d: ForecastData, y: np.ndarray) -> np.ndarray:
    """The graph's output (training statistics' units) in the series' units."""
    return y.astype(np.float64) * d.sd[:1] + d.mu[:1]  # type: ignore[no-any-return]


def on_its_own(d: ForecastData, m: Member, split: str, scaling: str) -> np.ndarray:
    """The member on its own windows and scaling, as its trial scored it."""
    w = d.windows(split, m.window, scaling)
    return run(m.net, w["x"]).astype(np.float64) * w["scale"] + w["loc"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("scaling", ["window", "global"])
@pytest.mark.parametrize("topology", ["seq2vec", "seq2seq", "encoder_decoder"])
def test_a_member_forecasts_what_it_forecasts_on_its_own_windows(
    flat: bool, scaling: str, topology: str
) -> None:
    d = data(flat)
    m = member(d, 8, scaling, seed=1, topology=topology)
    for split in ("val", "test"):
        x = d.windows(split, LONG, "global")["x"]
        got = in_units(d, run(m, x))
        expected = on_its_own(d, m, split, scaling)
        assert got.shape == expected.shape == (len(x), H, 1)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * d.sd[0])


def test_the_flat_stretch_does_hit_the_floor() -> None:
    """The ``flat`` case above tests the floor only if some validation window is floored."""
    d = data(flat=True)
    scale = d.windows("val", 8, "window")["scale"][:, 0, 0]
    assert np.isclose(scale, SCALE_FLOOR * d.sd[0]).any()
    assert not np.isclose(data(flat=False).windows("val", 8, "window")["scale"][:, 0, 0],
                          SCALE_FLOOR * d.sd[0]).any()  # fmt: skip


def test_the_ensemble_is_the_mean_of_members_of_different_windows_and_scalings() -> None:
    d = data(flat=True)
    parts = [
        (member(d, 8, "window", 1, "seq2vec"), "window"),
        (member(d, LONG, "global", 2, "encoder_decoder"), "global"),
        (member(d, 12, "window", 3, "seq2seq"), "window"),
    ]
    ensemble = EnsembleNet([m for m, _ in parts]).eval()
    assert ensemble.window == LONG
    x = d.windows("test", ensemble.window, "global")["x"]
    got = in_units(d, run(ensemble, x))
    own = [on_its_own(d, m, "test", scaling) for m, scaling in parts]
    np.testing.assert_allclose(got, np.mean(own, axis=0), rtol=0, atol=1e-5 * d.sd[0])
    assert np.abs(own[0] - own[1]).max() > 1e-2 * d.sd[0]  # the members do differ


def test_the_spec_rebuilds_the_same_graph_from_its_weights() -> None:
    d = data(flat=False)
    specs = [
        MemberSpec(ArchConfig("lstm", "seq2vec", 1, 8), d.shape("seq2vec"), 8, "window"),
        MemberSpec(ArchConfig("gru", "seq2seq", 2, 6), d.shape("seq2seq"), 12, "global"),
    ]
    torch.manual_seed(0)
    original = build_inference_net(ensemble_spec(specs))
    rebuilt = build_inference_net(ensemble_spec(specs), original.state_dict())
    assert isinstance(original, EnsembleNet) and isinstance(rebuilt, EnsembleNet)
    x = d.windows("val", 12, "global")["x"]
    np.testing.assert_array_equal(run(original, x), run(rebuilt, x))
    assert [m.window for m in rebuilt.members] == [8, 12]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="at least one member"):
        EnsembleNet([])
    with pytest.raises(ValueError, match="scaling"):
        Member(original.members[0].net, 8, "robust", 1)  # type: ignore[union-attr,arg-type]
    wrong = ensemble_spec([specs[1], specs[0]])  # the weights of another order do not fit
    with pytest.raises(UserError, match="do not fit"):
        build_inference_net(wrong, original.state_dict())
