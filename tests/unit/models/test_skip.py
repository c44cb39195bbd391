"""``skip: seasonal_naive`` (``automl_rnn.models.skip``): the network's forecast is the window's
seasonal-naive forecast plus the network's output. Checked against the data module's own
seasonal-naive baseline (``ForecastData.baseline_forecasts``, the one the search's rel_mae divides
by) on real windows of both scalings, through training's chunks, and through the exported graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.metrics import seasonal_lag_index
from automl_rnn.data.series import RawSeries
from automl_rnn.errors import ConfigError
from automl_rnn.export import torchscript
from automl_rnn.export.network import build_inference_net, network_spec, run
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.skip import SeasonalNaiveSkip

N, VAL, TEST = 90, 15, 12


def data(horizon: int, season: int) -> ForecastData:
    """Trend + season + noise, and a covariate (targets are the first column)."""
    rng = np.random.default_rng(0)
    index = np.arange(N, dtype=float)
    target = 50 + 0.8 * index + 6 * np.sin(index * 2 * np.pi / season) + rng.normal(0, 1, N)
    values = np.stack([target, 10 * np.cos(index / 5) + rng.normal(0, 1, N)], axis=1)
    raw = RawSeries("toy.csv", ("y", "x"), 1, values, np.arange(N) + 2)
    return ForecastData("toy", raw, horizon=horizon, season=season, val_size=VAL, test_size=TEST)


def skip_net(d: ForecastData, topology: str, *, zero: bool) -> SeasonalNaiveSkip:
    """A seasonal-naive-skip network; ``zero``: its own output is zero (the head's weights)."""
    torch.manual_seed(0)
    head_init = "zero" if zero else "default"
    arch = ArchConfig("lstm", topology, 1, 8, skip="seasonal_naive", head_init=head_init)
    net = build_network(arch, d.shape(topology))
    assert isinstance(net, SeasonalNaiveSkip)
    return net.eval()


def forecast_in_units(net: nn.Module, w: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        y = net(torch.from_numpy(w["x"])).numpy()
    return (y * w["scale"] + w["loc"]).astype(np.float64)  # type: ignore[no-any-return]


@pytest.mark.parametrize("scaling", ["window", "global"])
@pytest.mark.parametrize("topology", ["seq2vec", "encoder_decoder"])
@pytest.mark.parametrize(("horizon", "season", "window"), [(6, 4, 8), (3, 4, 4), (2, 12, 24)])
def test_a_network_adding_nothing_forecasts_the_data_modules_seasonal_naive(
    topology: str, scaling: str, horizon: int, season: int, window: int
) -> None:
    """Horizon beyond one season (6 > 4: the copy wraps), a window of exactly one season, a long
    season: the forecast equals the baseline the search scores rel_mae against, in the series'
    units, for every validation and test window."""
    d = data(horizon, season)
    net = skip_net(d, topology, zero=True)
    for split in ("val", "test"):
        w = d.windows(split, window, scaling)
        expected = d.targets[seasonal_lag_index(w["start"], horizon, season)]
        np.testing.assert_allclose(forecast_in_units(net, w), expected, atol=1e-3)
        if window >= d.min_seq_len:  # the baseline's windows start where these do
            base = d.baseline_forecasts(split)["snaive"]
            np.testing.assert_allclose(forecast_in_units(net, w), base, atol=1e-3)


def test_a_window_shorter_than_the_season_copies_the_last_value() -> None:
    d = data(horizon=3, season=4)
    x = torch.from_numpy(d.windows("val", 3, "window")["x"])
    naive = SeasonalNaiveSkip(nn.Identity(), horizon=3, targets=1, season=4).naive(x)
    assert torch.equal(naive, x[:, -1:, :1].expand(-1, 3, -1))


def test_the_network_adds_its_own_output_to_the_copy() -> None:
    d = data(horizon=6, season=4)
    net = skip_net(d, "seq2vec", zero=False)
    x = torch.from_numpy(d.windows("val", 8, "window")["x"])
    with torch.no_grad():
        total, own = net(x), net.net(x)
    assert own.abs().max() > 1e-3  # a planted bug that drops the network would fail below
    torch.testing.assert_close(total, own + net.naive(x))


@pytest.mark.parametrize("topology", ["seq2vec", "encoder_decoder"])
def test_training_fits_the_residual_and_its_loss_is_the_loss_of_the_sum(topology: str) -> None:
    """Free-running (teacher forcing 0), the chunk's prediction plus the copy is the forward
    pass, and its target is the truth minus the copy: the MAE of the residual is the MAE of
    the forecast. Forced (teacher forcing 1), the decoder is fed the residuals it emits."""
    d = data(horizon=6, season=4)
    net = skip_net(d, topology, zero=False)
    w = d.windows("train", 8, "window")
    batch = {"x": torch.from_numpy(w["x"][:16]), "y": torch.from_numpy(w["y"][:16])}
    naive = net.naive(batch["x"])
    (chunk,) = net.train_chunks(batch, None, teacher_forcing=0.0)
    torch.testing.assert_close(chunk.target, batch["y"] - naive)
    with torch.no_grad():
        torch.testing.assert_close(chunk.pred.detach() + naive, net(batch["x"]))
        own_loss = (chunk.pred - chunk.target).abs().mean()
        assert own_loss == pytest.approx(float((net(batch["x"]) - batch["y"]).abs().mean()))
    if topology == "encoder_decoder":
        (forced,) = net.train_chunks(batch, None, teacher_forcing=1.0)
        inner = net.net.train_chunks(  # the plain network forced with the residual
            {"x": batch["x"], "y": batch["y"] - naive}, None, teacher_forcing=1.0
        )
        torch.testing.assert_close(forced.pred, next(iter(inner)).pred)


def test_truncated_bptt_trains_the_residual_too() -> None:
    d = data(horizon=6, season=4)
    net = skip_net(d, "seq2vec", zero=False)
    w = d.windows("train", 8, "window")
    batch = {"x": torch.from_numpy(w["x"][:4]), "y": torch.from_numpy(w["y"][:4])}
    chunks = list(net.train_chunks(batch, 3, 0.0))
    torch.testing.assert_close(chunks[-1].target, batch["y"] - net.naive(batch["x"]))


@pytest.mark.parametrize(
    ("topology", "kind"),
    [("seq2seq", "forecast"), ("vec2seq", "forecast"), ("seq2vec", "classification")],
)
def test_the_skip_is_refused_where_no_window_forecast_exists(topology: str, kind: str) -> None:
    from automl_rnn.data.contract import DataShape

    shape = DataShape(kind, 2, 3 if kind == "classification" else 1, 1 if kind != "forecast" else 4)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="skip 'seasonal_naive' is only possible for forecasts"):
        build_network(ArchConfig("gru", topology, skip="seasonal_naive"), shape)


def test_the_exported_graph_carries_the_copy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Rebuilt from its JSON spec (what a bundle records) and traced to TorchScript, the network
    forecasts what the trained one does; the spec's shape carries the season."""
    d = data(horizon=6, season=4)
    arch = ArchConfig("lstm", "seq2vec", 1, 8, skip="seasonal_naive")
    trained = skip_net(d, "seq2vec", zero=False)
    spec = network_spec(arch, d.shape("seq2vec"))
    assert spec["shape"]["season"] == 4 and spec["arch"]["skip"] == "seasonal_naive"
    rebuilt = build_inference_net(spec, trained.state_dict())
    x = d.windows("test", 8, "window")["x"]
    with torch.no_grad():
        expected = trained(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(run(rebuilt, x), expected, atol=1e-6)
    torchscript.write(rebuilt, x, tmp_path / "m.pt")
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    with torch.no_grad():
        np.testing.assert_allclose(loaded(torch.from_numpy(x)).numpy(), expected, atol=1e-6)


def test_a_bundle_without_a_season_loads_as_before() -> None:
    """Bundles written before the skip have no ``season`` nor ``skip``: they rebuild unchanged."""
    d = data(horizon=6, season=4)
    spec = network_spec(ArchConfig("gru", "seq2vec", 1, 8), d.shape("seq2vec"))
    del spec["shape"]["season"], spec["arch"]["skip"]
    net = build_inference_net(spec)
    assert not any(isinstance(m, SeasonalNaiveSkip) for m in net.modules())


def test_many_series_copy_each_series_own_seasonal_naive(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A long table of series with covariates and static features (the target is their first
    input column): the copy is each validation window's seasonal naive, as the panel scores it."""
    import pandas as pd

    from automl_rnn.data.build import build
    from automl_rnn.data.generators import panel_table
    from automl_rnn.data.panel_data import PanelData
    from automl_rnn.data.source import DataSource

    path = tmp_path / "p.csv"
    pd.DataFrame(panel_table(6, (60, 90), seed=3)).to_csv(path, index=False)
    source = DataSource.from_args({
        "data": str(path), "id_col": "series", "time_col": "date", "target": "sales",
        "features": "price", "static_features": "size",
    })  # fmt: skip
    d = build(source)
    assert isinstance(d, PanelData) and d.season == 7 and d.values.shape[1] > 1
    torch.manual_seed(0)
    net = build_network(
        ArchConfig("gru", "seq2vec", 1, 8, skip="seasonal_naive"), d.shape("seq2vec")
    )
    head = net.net.head  # type: ignore[union-attr]
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    w = d.gather(d.starts("val"), 14)
    got = forecast_in_units(net.eval(), w)[..., 0]
    np.testing.assert_allclose(got, d.baseline_forecasts("val")["snaive"], rtol=1e-5, atol=1e-3)
