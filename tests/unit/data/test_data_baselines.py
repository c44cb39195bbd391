"""Baselines and scores on toy data, with every expected figure worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.metrics import macro_f1, seasonal_lag_index, token_scores
from automl_rnn.data.series import RawSeries

# index:          0   1   2   3   4   5   6   7 | 8   9 | 10  11
TOY = np.array([10, 12, 14, 11, 12, 15, 16, 12, 14, 16, 19, 15], dtype=float)
# season 4, horizon 2: train = 0..7, val = 8..9 (one window), test = 10..11 (one window)


def _toy() -> ForecastData:
    raw = RawSeries("toy", ("y",), 1, TOY[:, None], np.arange(12) + 2)
    return ForecastData("toy", raw, horizon=2, season=4, val_size=2, test_size=2)


def test_splits_of_the_toy_series() -> None:
    data = _toy()
    assert (data.train_end, data.val_end, data.n) == (8, 10, 12)
    assert data.starts("val", 2).tolist() == [8]
    assert data.starts("test", 2).tolist() == [10]


def test_naive_and_seasonal_naive_by_hand() -> None:
    base = _toy().baselines()
    # MASE scale: in-sample seasonal naive on the training part, lag 4:
    # |12-10|, |15-12|, |16-14|, |12-11| = 2, 3, 2, 1 -> mean 2.
    # test targets y10, y11 = 19, 15
    #   naive = y9 = 16 twice: |19-16|, |15-16| = 3, 1 -> MAE 2
    #   seasonal naive = y6, y7 = 16, 12: |19-16|, |15-12| = 3, 3 -> MAE 3, MASE 3 / 2
    assert base["test_naive_mae"] == pytest.approx(2.0)
    assert base["test_snaive_mae"] == pytest.approx(3.0)
    assert base["test_snaive_mase"] == pytest.approx(1.5)
    assert base["test_naive_rmse"] == pytest.approx(np.sqrt((9 + 1) / 2), abs=1e-4)
    # val targets y8, y9 = 14, 16
    #   naive = y7 = 12: errors 2, 4 -> 3;  seasonal naive = y4, y5 = 12, 15: errors 2, 1 -> 1.5
    assert base["val_naive_mae"] == pytest.approx(3.0)
    assert base["val_snaive_mae"] == pytest.approx(1.5)
    assert base["val_snaive_mase"] == pytest.approx(0.75)


def test_model_scores_by_hand() -> None:
    scores = _toy().score("test", np.array([[[18.0], [16.0]]]))
    # errors |19-18|, |15-16| = 1, 1
    assert scores["test_mae"] == pytest.approx(1.0)
    assert scores["test_rmse"] == pytest.approx(1.0)
    assert scores["test_mase"] == pytest.approx(1.0 / 2.0)
    assert scores["test_rel_mae"] == pytest.approx(1.0 / 3.0)  # seasonal naive MAE is 3
    assert scores["test_smape"] == pytest.approx(100 * (2 / 37 + 2 / 31) / 2)
    assert scores["test_naive_mae"] == pytest.approx(2.0)
    assert scores["test_snaive_mae"] == pytest.approx(3.0)


def test_seasonal_lag_beyond_one_season() -> None:
    # season 2, horizon 3, first target at 10: steps copy 8, 9, then 8 again (two seasons back)
    assert seasonal_lag_index(np.array([10]), 3, 2).tolist() == [[8, 9, 8]]
    # season 1 is the naive forecast: always the last observed value
    assert seasonal_lag_index(np.array([10]), 3, 1).tolist() == [[9, 9, 9]]


def test_classification_majority_and_macro_f1() -> None:
    # class 0: tp 1, fp 0, fn 1 -> F1 2/3; class 1: tp 1, fp 1, fn 0 -> 2/3; class 2: 1
    assert macro_f1(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])) == pytest.approx(7 / 9)
    y = np.array([0, 0, 0, 1, 1, 2, 0, 1], dtype=np.int64)
    split = {"train": np.arange(5), "val": np.array([5, 6, 7]), "test": np.array([5, 6, 7])}
    data = ArrayData("toy", "classification", {"seq2vec": View(np.zeros((8, 3, 1)), y)}, split,
                     "accuracy", "toy", classes=("a", "b", "c"))  # fmt: skip
    # majority of train (0, 0, 0, 1, 1) is class 0; val labels 2, 0, 1 -> 1 / 3
    assert data.baselines()["val_majority_accuracy"] == pytest.approx(0.3333, abs=1e-4)
    scores = data.score("val", np.array([2, 0, 0]))
    assert scores["val_accuracy"] == pytest.approx(2 / 3)
    assert data.decode(np.array([2, 0])) == ["c", "a"]


def test_regression_mean_baseline() -> None:
    y = np.array([1.0, 3.0, 5.0, 2.0, 4.0], dtype=np.float32).reshape(5, 1, 1)
    split = {"train": np.arange(3), "val": np.array([3, 4]), "test": np.array([3, 4])}
    data = ArrayData("toy", "regression", {"seq2vec": View(np.zeros((5, 2, 1)), y)}, split,
                     "mse", "toy")  # fmt: skip
    # training mean 3: errors on val (2, 4) are 1 and 1
    assert data.baselines()["val_mean_mse"] == pytest.approx(1.0)
    assert data.score("val", np.array([2.0, 6.0]))["val_mse"] == pytest.approx((0 + 4) / 2)


def test_token_scores_pad_and_ignored_positions() -> None:
    y = np.array([[1, 2, 0], [3, 0, 0], [-100, 4, 4]])
    p = np.array([[1, 2, 0], [3, 1, 0], [7, 4, 1]])
    exact, chars = token_scores(y, p)
    # row 1 emits a token where PAD was due (not exact); row 2 misses one scored token
    assert exact == pytest.approx(1 / 3)
    # scored real tokens: 1, 2, 3, 4, 4 -> 4 of 5 right (PAD and -100 positions not counted)
    assert chars == pytest.approx(4 / 5)
