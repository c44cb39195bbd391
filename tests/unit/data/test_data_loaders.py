"""Forecast loaders: seeded shuffling, same windows across topologies, scaling, short series."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automl_rnn.data import prepare
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, DataError


def _sine() -> ForecastData:
    data = prepare(DataSource(task="sine_mix"))
    assert isinstance(data, ForecastData)
    return data


def test_train_shuffle_is_seeded_and_eval_is_in_order() -> None:
    data = _sine()

    def order(seed: int) -> list[float]:
        loaders = data.loaders("seq2vec", 24, batch_size=32, seed=seed)
        return torch.cat([b["y"][:, 0, 0] for b in loaders.train]).tolist()

    assert order(1) == order(1)
    assert order(1) != order(2)
    val = data.loaders("seq2vec", 24, batch_size=7, scaling="global").val
    y = torch.cat([b["y"] * b["scale"] + b["loc"] for b in val])
    expected = data.targets[data.starts("val", 24)[:, None] + np.arange(12)]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5)


def test_seq2seq_and_seq2vec_share_windows() -> None:
    data = _sine()
    a = list(data.loaders("seq2vec", 36, batch_size=16).test)
    b = list(data.loaders("seq2seq", 36, batch_size=16).test)
    assert (
        sum(len(x["x"]) for x in a) == sum(len(x["x"]) for x in b) == len(data.starts("test", 36))
    )
    for vec, seq in zip(a, b):
        torch.testing.assert_close(vec["x"], seq["x"])
        last = seq["y"][:, -1].reshape(vec["y"].shape)  # the last step's horizon
        torch.testing.assert_close(last, vec["y"])
        # step t's horizon starts one step after t: step -2's second value is step -1's first
        torch.testing.assert_close(seq["y"][:, -2, 1], seq["y"][:, -1, 0])


def test_window_scaling_normalises_each_input_window() -> None:
    data = _sine()
    batch = next(iter(data.loaders("seq2vec", 48, batch_size=64, scaling="window").train))
    x = batch["x"][:, :, 0]
    assert torch.allclose(x.mean(dim=1), torch.zeros(len(x)), atol=1e-5)
    assert torch.allclose(x.std(dim=1, unbiased=False), torch.ones(len(x)), atol=1e-4)
    glob = next(iter(data.loaders("seq2vec", 48, batch_size=64, scaling="global").train))
    assert torch.all(glob["loc"] == glob["loc"][0]) and torch.all(glob["scale"] == glob["scale"][0])
    assert glob["loc"][0, 0, 0].item() == pytest.approx(data.mu[0], rel=1e-6)


def test_seq_len_candidates_fit_the_training_part() -> None:
    for name in ("air_passengers", "sine_mix"):
        data = prepare(DataSource(task=name))
        assert isinstance(data, ForecastData)
        candidates = data.seq_len_candidates()
        assert candidates == sorted(candidates) and data.default_seq_len in candidates
        assert data.horizon in candidates and (data.season or 0) in candidates
        assert all(len(data.starts("train", c)) >= 32 for c in candidates)


def test_too_long_window_says_the_minimum() -> None:
    data = prepare(DataSource(task="air_passengers"))
    with pytest.raises(DataError, match=r"seq_len 97: needs at least 145 points .* has 144"):
        data.loaders("seq2vec", 97, batch_size=8)
    data.loaders("seq2vec", 96, batch_size=8)  # the longest the training part holds


def test_wrong_topology_and_scaling_are_config_errors() -> None:
    data = _sine()
    with pytest.raises(ConfigError, match=r"does not fit topology 'vec2seq'"):
        data.loaders("vec2seq", 24, 8)
    with pytest.raises(ConfigError, match=r"scaling must be 'global' or 'window'"):
        data.loaders("seq2vec", 24, 8, scaling="minmax")


def test_batches_come_whole_not_sample_by_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from automl_rnn.data.batching import TensorBatches

    def refuse(self: TensorBatches, index: int) -> None:
        raise AssertionError("per-sample access")

    monkeypatch.setattr(TensorBatches, "__getitem__", refuse)
    for name in ("sine_mix", "dates"):
        data = prepare(DataSource(task=name))
        for topology in data.topologies:
            assert next(iter(data.loaders(topology, None, 4).train))["x"].shape[0] == 4


def test_shuffled_batches_cover_every_row_once_as_torch_would_shuffle_them() -> None:
    """The train loader's batches: every row once an epoch, a new order each epoch, and the very
    batches torch's RandomSampler + BatchSampler draw from the same seed (so the seeded results
    of earlier versions stand); indices come as tensors, not a Python int per row."""
    from torch.utils.data import BatchSampler, RandomSampler

    from automl_rnn.data.batching import ShuffledBatches

    ours = ShuffledBatches(103, 10, seed=5)
    torch_way = BatchSampler(
        RandomSampler(range(103), generator=torch.Generator().manual_seed(5)), 10, False
    )
    epochs = [[b.tolist() for b in ours] for _ in range(2)]
    assert epochs == [list(torch_way) for _ in range(2)]
    assert len(ours) == 11 and [len(b) for b in epochs[0]] == [10] * 10 + [3]
    for epoch in epochs:
        assert sorted(i for batch in epoch for i in batch) == list(range(103))
    assert epochs[0] != epochs[1]
    assert all(isinstance(b, torch.Tensor) for b in ours)
