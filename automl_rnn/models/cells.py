"""Recurrent cells behind one code path: a registry of torch's fused RNN/LSTM/GRU stacks.

The state of every cell is a tuple of tensors, ``(h,)`` or ``(h, c)`` for LSTM, each
``[num_layers * directions, B, H]``; the helpers below are the only code that knows the difference.
A whole layer stack runs as one cuDNN/ATen call (no Python loop over time steps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from automl_rnn.errors import ConfigError, unknown_name

State = tuple[Tensor, ...]

#: cell name -> (torch module class, extra constructor arguments)
CELL_REGISTRY: dict[str, tuple[Callable[..., nn.RNNBase], dict[str, Any]]] = {
    "rnn_tanh": (nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
}


def detach_state(state: State) -> State:
    """The same state cut from the autograd graph (truncated BPTT carries it across chunks)."""
    return tuple(part.detach() for part in state)


def keep_rows(new: State, old: State, keep: Tensor) -> State:
    """Rows where ``keep`` [B] is True take ``old``, the others ``new`` (rows with nothing to read)."""
    mask = keep.view(1, -1, 1)
    return tuple(torch.where(mask, o, n) for n, o in zip(new, old, strict=True))


class Recurrent(nn.Module):
    """A stack of recurrent layers of one cell kind, batch-first, with optional lengths.

    ``forward(x [B, T, F], lengths [B] | None, state | None) -> (outputs [B, T, H * dirs], state)``.
    With ``lengths``, the batch is packed so padding never reaches the recurrence; rows of length 0
    keep the state they came with (so chunked passes over variable-length batches stay exact).
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        if cell not in CELL_REGISTRY:
            raise ConfigError(unknown_name("cell", cell, CELL_REGISTRY))
        cls, extra = CELL_REGISTRY[cell]
        self.cell = cell
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.directions = 2 if bidirectional else 1
        self.rnn = cls(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            **extra,
        )

    @property
    def output_size(self) -> int:
        """Features of each output step: hidden size times directions."""
        return self.hidden_size * self.directions

    @property
    def state_parts(self) -> int:
        """2 for LSTM's (h, c), else 1."""
        return 2 if isinstance(self.rnn, nn.LSTM) else 1

    def zero_state(self, batch: int, like: Tensor) -> State:
        """An all-zero state for ``batch`` rows, on ``like``'s device and dtype."""
        shape = (self.num_layers * self.directions, batch, self.hidden_size)
        return tuple(like.new_zeros(shape) for _ in range(self.state_parts))

    def forward(
        self, x: Tensor, lengths: Tensor | None = None, state: State | None = None
    ) -> tuple[Tensor, State]:
        raw = None if state is None else (state if self.state_parts == 2 else state[0])
        if lengths is None:
            out, new_raw = self.rnn(x, raw)  # [B, T, H * dirs]
            return out, self._as_state(new_raw)
        active = lengths > 0
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out_packed, new_raw = self.rnn(packed, raw)
        out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
        new_state = self._as_state(new_raw)
        if not bool(active.all()):
            old = state if state is not None else self.zero_state(x.shape[0], x)
            new_state = keep_rows(new_state, old, ~active)
            out = out * active.view(-1, 1, 1).to(out.dtype)
        return out, new_state

    def final_hidden(self, state: State) -> Tensor:
        """The top layer's last hidden state, directions concatenated: ``[B, H * dirs]``."""
        h = state[0]  # [layers * dirs, B, H]
        top = h.view(self.num_layers, self.directions, h.shape[1], h.shape[2])[-1]  # [dirs, B, H]
        return top.permute(1, 0, 2).reshape(h.shape[1], -1)  # [B, dirs * H]

    @staticmethod
    def _as_state(raw: Tensor | tuple[Tensor, Tensor]) -> State:
        return tuple(raw) if isinstance(raw, tuple) else (raw,)


def step_mask(lengths: Tensor | None, steps: int, like: Tensor) -> Tensor | None:
    """``[B, T]`` boolean mask of valid steps, or None when every row is full length."""
    if lengths is None:
        return None
    positions = torch.arange(steps, device=like.device).unsqueeze(0)  # [1, T]
    return positions < lengths.to(like.device).unsqueeze(1)  # [B, T]
