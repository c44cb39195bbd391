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

import torch
from torch import Tensor, nn

from automl_rnn.models.topologies import Batch, Chunk


def seasonal_naive(x: Tensor, horizon: int, targets: int, season: int) -> Tensor:
    """The seasonal-naive forecast ``[B, L, D]`` of windows ``x [B, T, F]`` whose first ``D``
    columns are the targets: step ``h`` copies window step ``T + h - season * ceil((h + 1) /
    season)`` (counted from the end, so an exported graph needs no window length); with
    ``T < season`` the season is 1 (the last value)."""
    lag = season if x.shape[1] >= season else 1
    h = torch.arange(horizon, device=x.device)
    from_end = h - lag * torch.div(h + lag, lag, rounding_mode="floor")  # in [-lag, -1]
    return x[:, from_end, :targets]


class SeasonalNaiveSkip(nn.Module):
    """``net(x) + seasonal_naive(x)``; ``net`` outputs ``[B, L, D]`` (see the module docstring)."""

    def __init__(self, net: nn.Module, horizon: int, targets: int, season: int) -> None:
        super().__init__()
        if season < 1:
            raise ValueError(f"season must be at least 1, got {season}")
        self.net = net
        self.horizon, self.targets, self.season = horizon, targets, season

    def naive(self, x: Tensor) -> Tensor:
        return seasonal_naive(x, self.horizon, self.targets, self.season)

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
