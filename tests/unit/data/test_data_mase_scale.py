"""MASE's scale: the training part's in-sample seasonal-naive MAE, from two whole seasons on,
else the naive (lag 1) MAE; a season repeated exactly falls back to the naive MAE too."""

from __future__ import annotations

import numpy as np
import pytest

from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.metrics import insample_snaive_mae
from automl_rnn.data.series import RawSeries

SEASON = 4
PATTERN = np.array([100.0, 300.0, 200.0, 500.0])  # one season, repeated exactly


def _lag_mae(train: np.ndarray, lag: int) -> np.ndarray:
    return np.mean(np.abs(train[lag:] - train[:-lag]), axis=0)


def test_mase_scale_falls_back_to_the_naive_mae_when_the_season_repeats_exactly() -> None:
    train = np.tile(PATTERN, 5)[:, None]  # [20, 1]: every seasonal difference is 0
    assert _lag_mae(train, SEASON)[0] == 0.0
    naive = _lag_mae(train, 1)
    assert naive[0] > 200.0
    np.testing.assert_allclose(insample_snaive_mae(train, SEASON), naive)


def test_mase_of_an_exactly_periodic_series_is_scaled_by_the_naive_mae() -> None:
    """A forecast 10 off everywhere on a series that swings by hundreds: MASE is small (10 over
    the naive MAE), not 10 (the last-resort scale of 1.0)."""
    values = np.tile(PATTERN, 10)  # 40 points: train 32, validation 4, test 4
    raw = RawSeries("periodic", ("y",), 1, values[:, None], np.arange(len(values)) + 2)
    data = ForecastData("periodic", raw, horizon=2, season=SEASON, val_size=4, test_size=4)
    naive = float(_lag_mae(values[: data.train_end, None], 1)[0])
    truth = data.targets_of("test")
    scores = data.score("test", truth + 10.0)
    assert scores["test_mae"] == pytest.approx(10.0)
    assert scores["test_mase"] == pytest.approx(10.0 / naive)
    assert scores["test_mase"] < 0.1
    assert data.baselines()["test_snaive_mase"] == 0.0  # the season repeats: snaive is exact


@pytest.mark.parametrize(
    ("points", "lag"),
    [(2 * SEASON - 1, 1), (2 * SEASON, SEASON), (2 * SEASON + 1, SEASON)],
    ids=["one-point-short-of-two-seasons", "two-seasons", "more"],
)
def test_mase_scale_uses_the_seasonal_lag_from_two_whole_seasons_on(points: int, lag: int) -> None:
    train = np.random.default_rng(0).integers(0, 100, size=(points, 2)).astype(float)
    assert not np.allclose(_lag_mae(train, 1), _lag_mae(train, SEASON))  # the two differ
    np.testing.assert_allclose(insample_snaive_mae(train, SEASON), _lag_mae(train, lag))
