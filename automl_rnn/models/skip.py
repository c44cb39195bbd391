"""A forecast network that learns a correction to the seasonal-naive forecast.

``skip: seasonal_naive`` wraps a seq2vec or encoder-decoder forecaster so that its output is the
seasonal-naive forecast of the input window plus what the network adds: the network starts from a
forecast that is hard to beat on short seasonal series and learns the trend and the changes of
the season's shape (the idea of ES-RNN's deseasonalised inputs, and of the linear highway of
LSTNet, kept as simple as a copy). The naive part copies the latest same-season value of each
target column, the rule of :func:`automl_rnn.data.metrics.seasonal_lag_index`, and the last
value where the window is shorter than one season.

Inputs and targets of a forecast window share their scaling (the window's own statistics, or the
training part's), and targets are the first ``D`` input columns, so the copy is exact in scaled
units. Training fits the network to the residual ``y - naive``: the loss is the same as on the
sum, and a decoder forced with the true previous step is forced with the residual it emits.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from automl_rnn.data.metrics import seasonal_lag_index
from automl_rnn.models.topologies import Batch, Chunk


def offsets_from_end(horizon: int, season: int) -> Tensor:
    """Where each of the ``horizon`` steps' seasonal-naive copy sits in the input window,
    counted from its end (in ``[-season, -1]``; an exported graph then needs no window length):
    :func:`~automl_rnn.data.metrics.seasonal_lag_index` for a window whose first target is 0."""
    return torch.from_numpy(seasonal_lag_index(np.zeros(1, dtype=np.int64), horizon, season)[0])


class SeasonalNaiveSkip(nn.Module):
    """``net(x) + naive(x)``; ``net`` outputs ``[B, L, D]`` (see the module docstring)."""

    def __init__(self, net: nn.Module, horizon: int, targets: int, season: int) -> None:
        super().__init__()
        if season < 1:
            raise ValueError(f"season must be at least 1, got {season}")
        self.net = net
        self.targets, self.season = targets, season
        self.seasonal: Tensor
        self.last_value: Tensor
        # Built once, moved with the module, never saved: the weights stay the network's own.
        self.register_buffer("seasonal", offsets_from_end(horizon, season), persistent=False)
        self.register_buffer("last_value", offsets_from_end(horizon, 1), persistent=False)

    def naive(self, x: Tensor) -> Tensor:
        """The seasonal-naive forecast ``[B, L, D]`` of windows ``x [B, T, F]`` whose first
        ``D`` columns are the targets; the last value where ``T`` is shorter than the season."""
        index = self.seasonal if x.shape[1] >= self.season else self.last_value
        return x[:, index, : self.targets]

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        out: Tensor = self.net(x, lengths)
        return out + self.naive(x)

    def train_chunks(
        self, batch: Batch, tbptt_steps: int | None, teacher_forcing: float = 0.0
    ) -> Iterator[Chunk]:
        """The network's chunks against the residual target (same loss as on the sum)."""
        residual = dict(batch)
        residual["y"] = batch["y"] - self.naive(batch["x"])
        yield from self.net.train_chunks(residual, tbptt_steps, teacher_forcing)  # type: ignore[operator]
