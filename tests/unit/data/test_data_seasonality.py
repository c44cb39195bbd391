"""``seq_len: auto`` candidates come from the training part alone: the held-out rows' own
season cannot move the autocorrelation peak the windows are proposed from."""

from __future__ import annotations

import numpy as np

from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.seasonality import acf_season
from automl_rnn.data.series import RawSeries

TRAIN, HELD_OUT, HORIZON = 200, 60, 4  # validation and test parts of 60 points each


def _series(tail_period: int, tail_amplitude: float) -> np.ndarray:
    """A training part with period 12, then validation and test parts with their own period."""
    rng = np.random.default_rng(0)
    t = np.arange(TRAIN + 2 * HELD_OUT)
    train = 50 + 0.05 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, len(t))
    tail = 50 + tail_amplitude * np.sin(2 * np.pi * t / tail_period)
    return np.where(t < TRAIN, train, tail)


def _forecast(values: np.ndarray) -> ForecastData:
    raw = RawSeries("toy", ("y",), 1, values[:, None], np.arange(len(values)) + 2)
    return ForecastData("toy", raw, HORIZON, None, val_size=HELD_OUT, test_size=HELD_OUT)


def test_seq_len_candidates_ignore_a_different_season_in_the_held_out_rows() -> None:
    quiet = _series(tail_period=12, tail_amplitude=5.0)
    loud = _series(tail_period=5, tail_amplitude=50.0)
    np.testing.assert_array_equal(quiet[:TRAIN], loud[:TRAIN])
    # The premise: over the whole series the held-out period-5 rows move the peak off 12.
    assert acf_season(loud[:TRAIN], max_lag=16) == 12
    assert acf_season(loud, max_lag=16) not in (None, 12)

    clean, leaky = _forecast(quiet), _forecast(loud)
    assert clean.train_end == leaky.train_end == TRAIN
    assert 24 in clean.seq_len_candidates()  # twice the training part's season (not a horizon)
    assert leaky.seq_len_candidates() == clean.seq_len_candidates()
    assert leaky.default_seq_len == clean.default_seq_len
