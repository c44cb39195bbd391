"""No leakage: values after the training part's end change no training batch and no statistic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from automl_rnn.data import prepare
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.source import DataSource

N, HORIZON, SEASON = 160, 6, 12


def _series(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(N)
    target = 50 + 0.3 * t + 8 * np.sin(2 * np.pi * t / SEASON) + rng.normal(0, 1, N)
    covariate = 20 + 3 * np.cos(2 * np.pi * t / SEASON) + rng.normal(0, 0.5, N)
    return np.stack([target, covariate], axis=1)


def _write(path: Path, values: np.ndarray) -> Path:
    lines = ["day,sales,temp"]
    for i, (a, b) in enumerate(values):
        day = np.datetime64("2021-01-01") + i
        lines.append(
            f"{day},{'' if np.isnan(a) else f'{a:.6f}'},{'' if np.isnan(b) else f'{b:.6f}'}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _prepare(path: Path) -> ForecastData:
    source = DataSource.from_args(
        {"data": str(path), "target": "sales", "time_col": "day", "features": "temp",
         "horizon": HORIZON, "season": SEASON}
    )  # fmt: skip
    data = prepare(source)
    assert isinstance(data, ForecastData)
    return data


def _train_batches(
    data: ForecastData, topology: str, scaling: str
) -> list[dict[str, torch.Tensor]]:
    loaders = data.loaders(topology, 24, batch_size=8, scaling=scaling, seed=3)
    return list(loaders.train)


@pytest.mark.parametrize("topology", ["seq2vec", "seq2seq", "encoder_decoder"])
def test_values_after_training_end_change_nothing_the_training_sees(
    tmp_path: Path, topology: str
) -> None:
    values = _series(np.random.default_rng(0))
    values[100:102, 0] = np.nan  # a gap inside the training part
    end = _prepare(_write(tmp_path / "a.csv", values)).train_end
    values[end - 1 : end + 1, 0] = np.nan  # a gap straddling the training part's end
    changed = values.copy()
    changed[end:] = changed[end:] * 7.0 + 1000.0  # wild values after it
    first = _prepare(_write(tmp_path / "b.csv", values))
    second = _prepare(_write(tmp_path / "c.csv", changed))
    assert first.train_end == second.train_end == end
    np.testing.assert_array_equal(first.values[:end], second.values[:end])
    np.testing.assert_array_equal(first.mu, second.mu)
    np.testing.assert_array_equal(first.sd, second.sd)
    np.testing.assert_array_equal(first.mase_scale, second.mase_scale)
    assert first.seq_len_candidates() == second.seq_len_candidates()
    assert not np.allclose(first.values[end:], second.values[end:])
    for scaling in ("global", "window"):
        a, b = _train_batches(first, topology, scaling), _train_batches(second, topology, scaling)
        assert len(a) == len(b) > 0
        for batch_a, batch_b in zip(a, b):
            assert batch_a.keys() == batch_b.keys()
            for key in batch_a:
                torch.testing.assert_close(batch_a[key], batch_b[key], rtol=0, atol=0)


def test_training_targets_end_before_validation(tmp_path: Path) -> None:
    data = _prepare(_write(tmp_path / "a.csv", _series(np.random.default_rng(1))))
    for seq_len in data.seq_len_candidates():
        train = data.starts("train", seq_len)
        assert train.min() - seq_len >= 0
        assert train.max() + HORIZON <= data.train_end  # last target index < train_end
        val, test = data.starts("val", seq_len), data.starts("test", seq_len)
        assert val.min() >= data.train_end and val.max() + HORIZON <= data.val_end
        assert test.min() >= data.val_end and test.max() + HORIZON == data.n
