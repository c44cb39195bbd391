"""Scores of a panel's forecasts: per series first, then over the series.

A series' MAE is in its own units, so pooled figures are dominated by the largest series; the
figures that compare across series are scale-free: MASE (MAE over the series' in-sample
seasonal-naive MAE) and rel_mae (MAE over seasonal naive's MAE on the same window).
"""

from __future__ import annotations

import numpy as np

from automl_rnn.data import metrics


def insample_scales(
    targets: np.ndarray,
    codes: np.ndarray,
    position: np.ndarray,
    in_train: np.ndarray,
    train_len: np.ndarray,
    season: int,
) -> np.ndarray:
    """MASE's scale per series: the mean absolute seasonal difference over its training part
    (rows where ``in_train``; lag 1 where the part is shorter than two seasons or repeats its
    season exactly); NaN for a series constant over its training part (left out of MASE's
    averages). ``position`` is each row's step within its series."""
    series = len(train_len)

    def mean_abs_diff(lag: int) -> np.ndarray:  # rows are series by series: shifted views
        inside = in_train[lag:] & (position[lag:] >= lag)
        diffs = np.abs(targets[lag:] - targets[:-lag])
        diffs[~inside] = 0.0
        total = np.bincount(codes[lag:], weights=diffs, minlength=series)
        count = np.bincount(codes[lag:][inside], minlength=series)
        return np.divide(total, count, out=np.zeros(series), where=count > 0)

    naive = mean_abs_diff(1)
    scale = mean_abs_diff(season) if season > 1 else naive
    scale = np.where((train_len >= 2 * season) & (scale > 0), scale, naive)
    return np.where(scale > 0, scale, np.nan)


def baseline_forecasts(
    targets: np.ndarray, starts: np.ndarray, horizon: int, season: int
) -> dict[str, np.ndarray]:
    """Naive (last value) and seasonal-naive forecasts ``[N, L]`` of windows starting at ``starts``
    (their series hold at least one season before each window)."""
    return {
        "naive": targets[metrics.seasonal_lag_index(starts, horizon, 1)],
        "snaive": targets[metrics.seasonal_lag_index(starts, horizon, season)],
    }


def aggregate(
    split: str,
    y: np.ndarray,
    p: np.ndarray,
    baselines: dict[str, np.ndarray],
    mase_scale: np.ndarray,
) -> dict[str, float]:
    """Figures of one window per series (``y``, ``p``: ``[S, L]``), keys prefixed with ``split``:
    ``mae`` (pooled) and ``mae_median`` (median series), ``mase`` / ``mase_median`` (mean /
    median over series), ``rel_mae`` / ``rel_mae_median`` and ``rel_mae_best`` /
    ``rel_mae_worst`` (per series against seasonal naive) with ``rel_mae_best_series`` /
    ``_median_series`` / ``_worst_series`` (which series: its index among the ``S``, as a
    float), ``beats_snaive_share`` (the share of
    series where the model's MAE is below seasonal naive's), ``rmse``, ``smape``, and the
    baselines' pooled MAE."""
    model = np.abs(y - p).mean(axis=1)
    snaive = np.abs(y - baselines["snaive"]).mean(axis=1)
    mase = model / mase_scale
    rel = np.divide(model, snaive, out=np.full(len(model), np.nan), where=snaive > 0)
    scored = rel[~np.isnan(rel)]

    def stat(values: np.ndarray, how: str) -> float:
        kept = values[~np.isnan(values)]
        if not kept.size:
            return float("nan")
        if how == "mean":
            return float(np.mean(kept))
        if how == "median":
            return float(np.median(kept))
        return float(kept.min() if how == "min" else kept.max())

    def which(values: np.ndarray, how: str) -> float:
        """The series whose value is the lowest, the highest or nearest the median."""
        if np.isnan(values).all():
            return float("nan")
        if how == "median":
            return float(np.nanargmin(np.abs(values - np.nanmedian(values))))
        return float(np.nanargmin(values) if how == "min" else np.nanargmax(values))

    return {
        f"{split}_mae": float(model.mean()),
        f"{split}_mae_median": float(np.median(model)),
        f"{split}_rmse": metrics.rmse(y, p),
        f"{split}_smape": metrics.smape(y, p),
        f"{split}_mase": stat(mase, "mean"),
        f"{split}_mase_median": stat(mase, "median"),
        f"{split}_rel_mae": stat(rel, "mean"),
        f"{split}_rel_mae_median": stat(rel, "median"),
        f"{split}_rel_mae_best": stat(rel, "min"),
        f"{split}_rel_mae_worst": stat(rel, "max"),
        f"{split}_rel_mae_best_series": which(rel, "min"),
        f"{split}_rel_mae_median_series": which(rel, "median"),
        f"{split}_rel_mae_worst_series": which(rel, "max"),
        f"{split}_beats_snaive_share": float(np.mean(scored < 1)) if scored.size else float("nan"),
        f"{split}_naive_mae": metrics.mae(y, baselines["naive"]),
        f"{split}_snaive_mae": metrics.mae(y, baselines["snaive"]),
        f"{split}_snaive_mase": stat(snaive / mase_scale, "mean"),
        f"{split}_series": float(len(model)),
    }
