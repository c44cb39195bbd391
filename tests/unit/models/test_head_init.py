"""``head_init: zero``: every output layer starts at zero, so an untrained forecast network
forecasts the centre of its scaling (the window's mean under window scaling) instead of noise,
and training still moves it from there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.series import RawSeries
from automl_rnn.training.recipe import network_for

N = 80


def data() -> ForecastData:
    rng = np.random.default_rng(0)
    index = np.arange(N, dtype=float)
    target = 20 + 0.5 * index + 4 * np.sin(index * 2 * np.pi / 6) + rng.normal(0, 1, N)
    raw = RawSeries("toy.csv", ("y",), 1, target[:, None], np.arange(N) + 2)
    return ForecastData("toy", raw, horizon=4, season=6, val_size=8, test_size=8)


def net(topology: str, cell: str, head_init: str) -> torch.nn.Module:
    torch.manual_seed(0)
    hp = Hyperparams(topology=topology, cell=cell, hidden_size=8, head_init=head_init)  # type: ignore[arg-type]
    return network_for(hp, data().shape(topology))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("topology", ["seq2vec", "encoder_decoder", "seq2seq"])
def test_an_untrained_zero_head_network_forecasts_the_window_mean(topology: str, cell: str) -> None:
    d = data()
    w = d.windows("val", 12, "window")
    x = torch.from_numpy(w["x"])
    with torch.no_grad():
        zero = net(topology, cell, "zero").eval()(x).numpy()
        default = net(topology, cell, "default").eval()(x).numpy()
    assert np.all(zero == 0.0)
    assert np.abs(default).max() > 1e-3  # PyTorch's own initialisation is not zero
    forecast = zero[..., :1] * w["scale"] + w["loc"]  # seq2seq: every step's first output
    window_mean = d.values[w["start"][:, None] - np.arange(1, 13)].mean(axis=1)
    np.testing.assert_allclose(forecast[:, -1, 0], window_mean[:, 0], rtol=1e-5)


def test_only_the_output_layers_start_at_zero_and_training_moves_them() -> None:
    zero, default = (
        net("encoder_decoder", "lstm", "zero"),
        net("encoder_decoder", "lstm", "default"),
    )
    for (name, a), (_, b) in zip(zero.named_parameters(), default.named_parameters(), strict=True):
        if name.startswith("decoder.head."):
            assert torch.count_nonzero(a) == 0, name
        else:  # the same draws as without it: a paired comparison changes nothing else
            assert torch.equal(a, b), name
    w = data().windows("train", 12, "window")
    batch = {"x": torch.from_numpy(w["x"]), "y": torch.from_numpy(w["y"])}
    optimiser = torch.optim.Adam(zero.parameters(), lr=1e-2)
    for _ in range(2):  # the first step moves the head, the second reaches the layers under it
        (chunk,) = zero.train_chunks(batch, None, 0.5)
        torch.nn.functional.l1_loss(chunk.pred, chunk.target).backward()
        optimiser.step()
        optimiser.zero_grad()
    with torch.no_grad():
        assert zero.eval()(batch["x"]).abs().max() > 1e-3
    assert not torch.equal(zero.encoder.rnn.weight_hh_l0, default.encoder.rnn.weight_hh_l0)


def test_head_init_is_a_searchable_choice() -> None:
    with pytest.raises(ValueError, match="head_init"):
        Hyperparams(head_init="ones")  # type: ignore[arg-type]
