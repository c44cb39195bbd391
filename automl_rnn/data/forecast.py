"""Forecast data: chronological splits, windows for any ``seq_len``, global or window scaling,
and scores against the naive and seasonal-naive baselines on the same windows.

Layout: the series ``[N, F]`` holds the D targets first, then the covariates. A window whose first
target is at index ``s`` reads inputs ``[s - seq_len, s)`` and predicts ``[s, s + horizon)``; its
split is the part holding all its targets (inputs may look back into earlier parts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from automl_rnn.data import metrics
from automl_rnn.data.contract import DataShape
from automl_rnn.data.lengths import shortest_window
from automl_rnn.data.missing import fill_causal
from automl_rnn.data.prepared import PreparedData, fingerprint
from automl_rnn.data.seasonality import MIN_TRAIN_WINDOWS, acf_season, window_candidates
from automl_rnn.data.series import RawSeries
from automl_rnn.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy.typing as npt

    from automl_rnn.data.batching import TensorBatches

SCALE_FLOOR = 0.1
"""Window scaling: a window's std is floored at this share of the training std (flat windows)."""


class ForecastData(PreparedData):
    """A (multivariate) series ready to window; see the module docstring for the layout."""

    horizon: int
    """Steps forecast by each window (at least 1; validated where tasks and flags are read)."""

    def __init__(
        self,
        name: str,
        series: RawSeries,
        horizon: int,
        season: int | None,
        val_size: int | None,
        test_size: int | None,
        topologies: tuple[str, ...] = ("seq2vec", "encoder_decoder", "seq2seq"),
        metric: str = "mae",
    ) -> None:
        self.name, self.kind, self.topologies, self.metric = name, "forecast", topologies, metric
        self.label, self.columns, self.d = series.label, series.columns, series.n_targets
        self.notes, self.times, self.horizon, self.season = (
            series.notes,
            series.times,
            horizon,
            season,
        )
        self.dayfirst, self.fill_gap = series.dayfirst, series.fill_gap
        n, h = len(series.values), horizon
        self.val_size, self.test_size = max(h, val_size or h), max(h, test_size or h)
        self.min_seq_len = shortest_window(h, season)
        need = self.min_seq_len + h + self.val_size + self.test_size
        if n < need:
            raise DataError(
                f"{self.label}: series has {n} points; needs at least {need} (smallest window "
                f"{self.min_seq_len} + horizon {h} + validation {self.val_size} + test "
                f"{self.test_size}); give a longer series or a smaller --horizon"
            )
        self.n, self.train_end, self.val_end = (
            n,
            n - self.val_size - self.test_size,
            n - self.test_size,
        )
        self.values = fill_causal(series.values, [self.train_end, self.val_end, n])
        self.targets = self.values[:, : self.d]
        train = self.values[: self.train_end]
        self._check_not_constant(train, series)
        self.mu = train.mean(axis=0)
        self.sd = np.where(train.std(axis=0) > 0, train.std(axis=0), 1.0)
        self.mase_scale = metrics.insample_snaive_mae(train[:, : self.d], season or 1)
        self.max_seq_len = self.train_end - h
        high = max(self.min_seq_len, self.train_end - h - MIN_TRAIN_WINDOWS + 1)
        acf_lag = acf_season(train[:, 0], max_lag=min(self.max_seq_len, 4 * (season or h)))
        self._candidates = window_candidates(h, season, acf_lag, self.min_seq_len, high)
        target = max(2 * h, season or 0)
        self.default_seq_len = next(
            (c for c in self._candidates if c >= target), self._candidates[-1]
        )
        self.fingerprint = fingerprint(self.values, self.columns, h, self.val_size, self.test_size)
        self._values32 = self.values.astype(np.float32)

    def _check_not_constant(self, train: np.ndarray, series: RawSeries) -> None:
        for col in range(self.d):
            if np.ptp(train[:, col]) == 0:
                raise DataError(
                    f"{self.label}: target column '{self.columns[col]}' is constant "
                    f"({train[0, col]:g}) over the training part ({series.where(0)} to "
                    f"{series.where(self.train_end - 1)}); there is nothing to forecast"
                )

    def seq_len_candidates(self) -> list[int]:
        """Input windows worth searching (multiples of horizon and season, ACF peak), ascending."""
        return list(self._candidates)

    def shape(self, topology: str) -> DataShape:
        """Input F = targets + covariates; output D targets over L = horizon steps."""
        self.check_topology(topology)
        return DataShape(
            "forecast", self.values.shape[1], self.d, self.horizon, season=self.season or 1
        )

    def starts(self, split: str, seq_len: int) -> np.ndarray:
        """Index of each window's first target, in loader order."""
        h = self.horizon
        first, end = {
            "train": (seq_len, self.train_end),
            "val": (self.train_end, self.val_end),
            "test": (self.val_end, self.n),
        }[split]
        return np.arange(first, end - h + 1, dtype=np.int64)

    def check_seq_len(self, seq_len: int) -> None:
        """Refuse a window the training part cannot hold, saying the minimum length needed."""
        if not 1 <= seq_len <= self.max_seq_len:
            need = seq_len + (self.horizon) + self.val_size + self.test_size
            raise DataError(
                f"{self.label}: series too short for seq_len {seq_len}: needs at least {need} "
                f"points (seq_len + horizon + validation + test), has {self.n}; "
                f"use seq_len between 1 and {self.max_seq_len}"
            )

    def windows(self, split: str, seq_len: int, scaling: str) -> dict[str, np.ndarray]:
        """Scaled windows of one split: x ``[N, T, F]``, y ``[N, L, D]``, loc/scale ``[N, 1, D]``,
        start ``[N]``. Views over the cached series; cost grows with N * T only."""
        h, d = self.horizon, self.d
        start = self.starts(split, seq_len)
        x = sliding_window_view(self._values32, seq_len, axis=0)[start - seq_len]  # [N, F, T]
        x = x.transpose(0, 2, 1)  # [N, T, F]
        y = sliding_window_view(self._values32[:, :d], h, axis=0)[start].transpose(0, 2, 1)
        if scaling == "global":
            loc = np.broadcast_to(self.mu, (len(start), 1, len(self.mu)))
            scale = np.broadcast_to(self.sd, loc.shape)
        elif scaling == "window":
            loc = x.mean(axis=1, keepdims=True, dtype=np.float64)  # [N, 1, F]
            scale = np.maximum(
                x.std(axis=1, keepdims=True, dtype=np.float64), SCALE_FLOOR * self.sd
            )
        else:
            raise ConfigError(f"scaling must be 'global' or 'window', got {scaling!r}")
        f32 = np.float32
        return {
            "x": ((x - loc) / scale).astype(f32),
            "y": ((y - loc[..., :d]) / scale[..., :d]).astype(f32),
            "loc": np.ascontiguousarray(loc[..., :d], dtype=f32),
            "scale": np.ascontiguousarray(scale[..., :d], dtype=f32),
            "start": start,
        }

    def _datasets(
        self, topology: str, seq_len: int | None, scaling: str
    ) -> dict[str, TensorBatches]:
        """Contract batches ``x, y, loc, scale`` of the windows of each split."""
        import torch

        from automl_rnn.data.batching import SeqForecastBatches, TensorBatches

        seq_len = seq_len or self.default_seq_len
        self.check_seq_len(seq_len)
        targets = torch.from_numpy(self._values32[:, : self.d])
        datasets: dict[str, TensorBatches] = {}
        for split in ("train", "val", "test"):
            tensors = {
                k: torch.from_numpy(v) for k, v in self.windows(split, seq_len, scaling).items()
            }
            if topology == "seq2seq":
                del tensors["y"]
                datasets[split] = SeqForecastBatches(tensors, targets, seq_len, self.horizon)
            else:
                del tensors["start"]
                datasets[split] = TensorBatches(tensors)
        return datasets

    def targets_of(self, split: str) -> np.ndarray:
        """Original-unit targets ``[N, L, D]`` of a split's windows, in loader order."""
        start = self.starts(split, self.min_seq_len)
        return self.targets[start[:, None] + np.arange(self.horizon)]

    def baseline_forecasts(self, split: str) -> dict[str, np.ndarray]:
        """Naive (last value) and seasonal-naive forecasts ``[N, L, D]`` of a split's windows."""
        start, h = self.starts(split, self.min_seq_len), self.horizon
        return {
            "naive": self.targets[metrics.seasonal_lag_index(start, h, 1)],
            "snaive": self.targets[metrics.seasonal_lag_index(start, h, self.season or 1)],
        }

    def score(self, split: str, predictions: npt.ArrayLike) -> dict[str, float]:
        """MAE, RMSE, sMAPE, MASE, rel_mae (vs seasonal naive) and the baselines' MAE."""
        self.check_split(split)
        y = self.targets_of(split)
        p = np.asarray(predictions, dtype=np.float64)
        if p.shape != y.shape:
            if p.size != y.size:
                raise ValueError(f"{split} predictions must be shaped {y.shape}, got {p.shape}")
            p = p.reshape(y.shape)
        base = self.baseline_forecasts(split)
        model_mae, snaive_mae = metrics.mae(y, p), metrics.mae(y, base["snaive"])
        per_col = np.mean(np.abs(y - p), axis=(0, 1))
        return {
            f"{split}_mae": model_mae,
            f"{split}_rmse": metrics.rmse(y, p),
            f"{split}_smape": metrics.smape(y, p),
            f"{split}_mase": float(np.mean(per_col / self.mase_scale)),
            f"{split}_rel_mae": model_mae / snaive_mae if snaive_mae > 0 else float("nan"),
            f"{split}_naive_mae": metrics.mae(y, base["naive"]),
            f"{split}_snaive_mae": snaive_mae,
        }

    def baselines(self) -> dict[str, float]:
        """Naive and seasonal-naive MAE, RMSE, sMAPE and MASE on the val and test windows."""
        out: dict[str, float] = {}
        for split in ("val", "test"):
            for name, forecast in self.baseline_forecasts(split).items():
                scores = self.score(split, forecast)
                for metric in ("mae", "rmse", "smape", "mase"):
                    out[f"{split}_{name}_{metric}"] = round(scores[f"{split}_{metric}"], 4)
        return out

    def summary(self) -> dict[str, Any]:
        """What ``automl-rnn inspect`` prints."""
        seq_len = self.default_seq_len
        span = None
        if self.times is not None and len(self.times):
            span = f"{self.times[0]} .. {self.times[-1]}"
        points = {"train": self.train_end, "val": self.val_size, "test": self.test_size}
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.label,
            "rows": self.n,
            "targets": list(self.columns[: self.d]),
            "covariates": list(self.columns[self.d :]),
            "time_span": span,
            "horizon": self.horizon,
            "season": self.season,
            "topologies": list(self.topologies),
            "metric": self.metric,
            "split_points": points,
            "split_windows": {s: len(self.starts(s, seq_len)) for s in ("train", "val", "test")},
            "seq_len_default": seq_len,
            "seq_len_candidates": self.seq_len_candidates(),
            "seq_len_max": self.max_seq_len,
            "baselines": self.baselines(),
            "notes": list(self.notes),
            "fingerprint": self.fingerprint,
        }
