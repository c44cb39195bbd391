"""Many series ready to window: per-series chronological splits, windows as indices, per-window
scaling, and scores per series against naive and seasonal naive, aggregated over the panel.

Layout: the series are stored end to end (``values [N_total, F]``: the target, then the
covariates, then the static features); series ``i`` holds rows ``offsets[i]:offsets[i + 1]``.
Each series keeps its last ``horizon`` steps for test and the ``horizon`` before them for
validation. A window is only the index of its first target (``start``): its inputs are the
``seq_len`` rows before it, never crossing into another series, and they are gathered a batch at a
time (:meth:`PanelData.gather`), so memory does not grow with ``seq_len`` × windows.

Scaling: the target of each window by the window's own mean and standard deviation (floored at
:data:`LEVEL_FLOOR` of its mean level; series differ in scale by orders of magnitude), covariates
and static features by their training statistics over the whole panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.data import panel_scores
from automl_rnn.data.contract import DataShape
from automl_rnn.data.lengths import shortest_window
from automl_rnn.data.prepared import PreparedData, fingerprint
from automl_rnn.data.scaling import standardize
from automl_rnn.data.seasonality import window_candidates
from automl_rnn.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy.typing as npt

    from automl_rnn.data.batching import TensorBatches

LEVEL_FLOOR = 1e-3
"""A window's scale is at least this share of its mean absolute level (1.0 for an all-zero window)."""


@dataclass(frozen=True)
class PanelColumns:
    """The columns of a long table of many series."""

    id_col: str
    target: str
    time_col: str | None = None
    features: tuple[str, ...] = ()
    """Covariates that change over time (known up to the forecast's start)."""
    static: tuple[str, ...] = ()
    """Per-series constants (``--static-features``), fed at every step."""


@dataclass(frozen=True)
class PanelSeries:
    """The kept series, end to end: ``codes[k]`` is the series of row ``k`` (rows in time order)."""

    ids: tuple[str, ...]
    codes: np.ndarray
    values: np.ndarray
    """``[N_total, F]`` float64: the target, the covariates, the static features."""
    when: np.ndarray | None
    """Each row's time (float64; nanoseconds for datetimes), None without a time column."""
    datetimes: bool


def window_scale(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``loc`` and ``scale`` (float64 ``[..., 1, 1]``) of target windows ``[..., T, 1]``, from the
    windows alone. The one rule, for training and for ``predict``."""
    loc = target.mean(axis=-2, keepdims=True, dtype=np.float64)
    level = np.abs(target).mean(axis=-2, keepdims=True, dtype=np.float64)
    scale = np.maximum(target.std(axis=-2, keepdims=True, dtype=np.float64), LEVEL_FLOOR * level)
    return loc, np.where(scale > 0, scale, 1.0)


class PanelData(PreparedData):
    """Many series of one target for one global model; see the module docstring for the layout."""

    many_series = True
    horizon: int

    def __init__(
        self,
        name: str,
        label: str,
        columns: PanelColumns,
        series: PanelSeries,
        horizon: int,
        season: int | None,
        notes: list[str],
        dayfirst: bool | None = None,
        fill_gap: int = 0,
    ) -> None:
        self.name, self.kind, self.metric = name, "forecast", "mae"
        self.fill_gap = fill_gap
        """The longest run of missing values filled (``--missing interpolate``; 0: gaps were
        refused), which ``predict`` fills in a history the same way."""
        self.topologies = ("seq2vec", "encoder_decoder", "seq2seq")
        self.label, self.columns, self.notes = label, columns, notes
        self.ids, self.codes, self.when = series.ids, series.codes, series.when
        self.datetimes, self.dayfirst = series.datetimes, dayfirst
        self.horizon, self.season = horizon, season
        self.val_size = self.test_size = horizon
        self.lengths = np.bincount(series.codes, minlength=len(series.ids)).astype(np.int64)
        self.offsets = np.r_[0, np.cumsum(self.lengths)].astype(np.int64)
        self.train_len = self.lengths - 2 * horizon
        self.values = series.values
        self.targets = series.values[:, 0]
        position = np.arange(len(self.codes), dtype=np.int32)  # each row's step in its series
        position -= self.offsets.astype(np.int32)[self.codes]
        inputs = series.values.astype(np.float32)
        self._targets32 = inputs[:, 0].copy()
        self.mu, self.sd = np.zeros(0), np.zeros(0)
        in_train = position < self.train_len.astype(np.int32)[self.codes]
        if series.values.shape[1] > 1:  # covariates and static features, scaled in place
            self.mu, self.sd = standardize(inputs[:, 1:], in_train)
        self._inputs32 = inputs
        self.mase_scale = panel_scores.insample_scales(
            self.targets, self.codes, position, in_train, self.train_len, season or 1
        )
        self.min_seq_len = shortest_window(horizon, season)
        self.max_seq_len = int(self.train_len.min()) - horizon
        self._candidates = window_candidates(
            horizon, season, None, self.min_seq_len, max(self.min_seq_len, self.max_seq_len)
        )
        target = max(2 * horizon, season or 0)
        self.default_seq_len = next(
            (c for c in self._candidates if c >= target), self._candidates[-1]
        )
        codes64 = series.codes.astype(np.int64)  # the dtype earlier versions hashed: same prints
        self.fingerprint = fingerprint(series.values, codes64, columns, horizon)

    # ---- windows -------------------------------------------------------------------------------
    def seq_len_candidates(self) -> list[int]:
        """Input windows worth searching (multiples of horizon and season), ascending."""
        return list(self._candidates)

    def shape(self, topology: str) -> DataShape:
        """Input F = target + covariates + static features; output 1 target over the horizon."""
        self.check_topology(topology)
        return DataShape("forecast", self.values.shape[1], 1, self.horizon, season=self.season or 1)

    def check_seq_len(self, seq_len: int) -> None:
        """Refuse a window the shortest series' training part cannot hold."""
        if not 1 <= seq_len <= self.max_seq_len:
            shortest = self.ids[int(np.argmin(self.train_len))]
            raise DataError(
                f"{self.label}: seq_len {seq_len} does not fit series '{shortest}' "
                f"({int(self.lengths.min())} rows); use seq_len between 1 and {self.max_seq_len}"
            )

    def starts(self, split: str, seq_len: int | None = None) -> np.ndarray:
        """Row index of each window's first target, series by series (validation and test: one
        window per series, whatever ``seq_len``)."""
        h, first_row = self.horizon, self.offsets[:-1]
        if split == "train":
            assert seq_len is not None
            first, count = first_row + seq_len, self.train_len - h + 1 - seq_len
        else:
            part = self.train_len if split == "val" else self.train_len + h
            first, count = first_row + part, np.ones_like(part)
        count = np.maximum(count, 0)
        within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        return np.repeat(first, count) + within

    def series_of(self, starts: np.ndarray) -> np.ndarray:
        """The series (index into ``ids``) of each window."""
        return np.searchsorted(self.offsets, starts, side="right") - 1

    def gather(self, starts: np.ndarray, seq_len: int, per_step: bool = False) -> dict[str, Any]:
        """The scaled windows that start at ``starts``: ``x [B, T, F]``, ``y [B, L, 1]`` (or
        ``[B, T, L]`` per step, for seq2seq), ``loc``/``scale [B, 1, 1]`` (float32 arrays)."""
        h = self.horizon
        x = self._inputs32[starts[:, None] + np.arange(-seq_len, 0)]  # [B, T, F]
        loc, scale = window_scale(x[..., :1])
        x[..., :1] = (x[..., :1] - loc) / scale
        if per_step:  # the horizon after every input step
            offsets = np.arange(-seq_len + 1, 1)[:, None] + np.arange(h)  # [T, L]
            y = self._targets32[starts[:, None, None] + offsets]  # [B, T, L]
        else:
            y = self._targets32[starts[:, None] + np.arange(h)][..., None]  # [B, L, 1]
        f32 = np.float32
        return {
            "x": x,
            "y": ((y - loc) / scale).astype(f32),
            "loc": loc.astype(f32),
            "scale": scale.astype(f32),
        }

    def _datasets(
        self, topology: str, seq_len: int | None, scaling: str
    ) -> dict[str, TensorBatches]:
        from automl_rnn.data.batching import PanelBatches

        if scaling != "window":
            raise ConfigError(
                f"scaling '{scaling}': many series are scaled window by window (they differ in "
                "scale); set scaling: window in the search space"
            )
        seq_len = seq_len or self.default_seq_len
        self.check_seq_len(seq_len)
        per_step = topology == "seq2seq"
        return {
            split: PanelBatches(self, self.starts(split, seq_len), seq_len, per_step)
            for split in ("train", "val", "test")
        }

    # ---- scores --------------------------------------------------------------------------------
    def targets_of(self, split: str) -> np.ndarray:
        """Original-unit targets ``[N, L]`` of a split's windows (one per series)."""
        return self.targets[self.starts(split)[:, None] + np.arange(self.horizon)]

    def baseline_forecasts(self, split: str) -> dict[str, np.ndarray]:
        """Naive (last value) and seasonal-naive forecasts ``[N, L]`` of a split's windows."""
        return panel_scores.baseline_forecasts(
            self.targets, self.starts(split), self.horizon, self.season or 1
        )

    def score(self, split: str, predictions: npt.ArrayLike) -> dict[str, float]:
        """Per-series MAE, MASE and rel_mae (against seasonal naive), aggregated: see
        :func:`panel_scores.aggregate`."""
        self.check_split(split)
        y = self.targets_of(split)
        p = np.asarray(predictions, dtype=np.float64)
        if p.size != y.size:
            raise ValueError(f"{split} predictions must be shaped {y.shape}, got {p.shape}")
        base = self.baseline_forecasts(split)
        return panel_scores.aggregate(split, y, p.reshape(y.shape), base, self.mase_scale)

    def baselines(self) -> dict[str, float]:
        """Naive and seasonal-naive MAE and MASE on the val and test windows."""
        out: dict[str, float] = {}
        for split in ("val", "test"):
            for name, forecast in self.baseline_forecasts(split).items():
                scores = self.score(split, forecast)
                for metric in ("mae", "mase"):
                    out[f"{split}_{name}_{metric}"] = round(scores[f"{split}_{metric}"], 4)
        return out

    def summary(self) -> dict[str, Any]:
        """What ``automl-rnn inspect`` prints."""
        seq_len = self.default_seq_len
        columns = self.columns
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": "many series (one global model)",
            "source": self.label,
            "rows": len(self.codes),
            "series": len(self.ids),
            "lengths": {
                "min": int(self.lengths.min()),
                "median": float(np.median(self.lengths)),
                "max": int(self.lengths.max()),
            },
            "targets": [columns.target],
            "covariates": list(columns.features),
            "static_features": list(columns.static),
            "horizon": self.horizon,
            "season": self.season,
            "topologies": list(self.topologies),
            "metric": self.metric,
            "split_windows": {s: len(self.starts(s, seq_len)) for s in ("train", "val", "test")},
            "seq_len_default": seq_len,
            "seq_len_candidates": self.seq_len_candidates(),
            "seq_len_max": self.max_seq_len,
            "baselines": self.baselines(),
            "notes": list(self.notes),
            "fingerprint": self.fingerprint,
        }
