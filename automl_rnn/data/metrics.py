"""Scores in the data's own units (numpy only): forecast errors, seasonal-naive baselines, F1."""

from __future__ import annotations

import numpy as np

from automl_rnn.data.contract import IGNORE_INDEX, PAD_TOKEN


def mae(y: np.ndarray, p: np.ndarray) -> float:
    """Mean absolute error over every element."""
    return float(np.mean(np.abs(y - p)))


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    """Root mean squared error over every element."""
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mse(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error over every element."""
    return float(np.mean((y - p) ** 2))


def smape(y: np.ndarray, p: np.ndarray) -> float:
    """Symmetric MAPE in percent (0..200); a point where both are 0 counts as 0."""
    denom = np.abs(y) + np.abs(p)
    ratio = np.divide(2.0 * np.abs(y - p), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def seasonal_lag_index(starts: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Indices ``[N, L]`` the seasonal-naive forecast copies: the latest observed same-season point.

    For a window whose first target is at ``s``, step ``h`` (0-based) copies
    ``s + h - season * ceil((h + 1) / season)``; ``season=1`` gives the naive (last value) forecast.
    """
    h = np.arange(horizon)
    back = season * ((h + season) // season)  # season * ceil((h + 1) / season)
    return starts[:, None] + h[None, :] - back[None, :]


def insample_snaive_mae(train: np.ndarray, season: int) -> np.ndarray:
    """Per-column MAE of the one-step seasonal-naive forecast on the training part: MASE's scale.

    ``train`` is ``[T, D]``; returns ``[D]``. Falls back to lag 1 when the part is shorter than
    two seasons (``T < 2 * season``: every position of the season needs a same-season pair, as a
    ``--season`` must repeat twice) or when a column repeats its season exactly (scale ~0), and to
    1.0 when even the naive scale is ~0, so MASE stays finite.
    """
    lag = season if train.shape[0] >= 2 * season else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]), axis=0)
    naive = np.mean(np.abs(train[1:] - train[:-1]), axis=0)
    tiny = 1e-6 * np.maximum(np.mean(np.abs(train), axis=0), 1e-12)
    scale = np.where(scale > tiny, scale, naive)
    return np.where(scale > tiny, scale, 1.0)


def accuracy(y: np.ndarray, p: np.ndarray) -> float:
    """Share of equal entries."""
    return float(np.mean(y == p))


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    """Unweighted mean F1 over the classes present in ``y`` or ``p`` (scikit-learn's default)."""
    scores = []
    for c in np.union1d(y, p):
        tp = np.sum((y == c) & (p == c))
        fp = np.sum((y != c) & (p == c))
        fn = np.sum((y == c) & (p != c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def token_scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(exact match, char accuracy) of token outputs ``[N, L]``.

    Positions where ``y`` is IGNORE_INDEX are not scored. Exact match compares every scored position
    (padding included: the model must stop); char accuracy counts only the positions holding a real
    token (not PAD), so padding cannot inflate it.
    """
    scored = y != IGNORE_INDEX
    equal = (y == p) | ~scored
    exact = float(np.mean(np.all(equal, axis=1)))
    chars = scored & (y != PAD_TOKEN)
    char_acc = float(np.sum((y == p) & chars) / max(1, int(np.sum(chars))))
    return exact, char_acc
