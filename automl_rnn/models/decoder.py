"""The autoregressive decoder shared by vec2seq and encoder-decoder, and the state bridges into it."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from automl_rnn.models.cells import Recurrent, State


class Decoder(nn.Module):
    """Emits ``steps`` outputs, each fed back as the next input (or the true one, teacher forcing).

    Token outputs are embedded (an extra embedding row is the start token); float outputs are fed
    back as values, starting from a learned start vector. Outputs: ``[B, steps, output_size]``.
    """

    def __init__(
        self,
        cell: str,
        tokens: bool,
        output_size: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.tokens = tokens
        self.output_size = output_size
        if tokens:
            self.embed: nn.Embedding | None = nn.Embedding(output_size + 1, hidden_size)
            input_size = hidden_size
        else:
            self.embed = None
            self.start = nn.Parameter(torch.zeros(output_size))
            input_size = output_size
        self.rnn = Recurrent(cell, input_size, hidden_size, num_layers, dropout)
        self.head = nn.Linear(hidden_size, output_size)

    def start_input(self, batch: int, like: Tensor) -> Tensor:
        """The first fed-back value: start token ids ``[B]`` or the start vector ``[B, D]``."""
        if self.embed is not None:
            return torch.full((batch,), self.output_size, dtype=torch.long, device=like.device)
        return self.start.unsqueeze(0).expand(batch, -1)

    def _inputs(self, fed: Tensor) -> Tensor:
        """Fed-back values ``[B, S]`` (ids) or ``[B, S, D]`` (floats) -> RNN inputs ``[B, S, E]``."""
        if self.embed is not None:
            return self.embed(fed.clamp(min=0))  # -100 (ignored) targets are fed as PAD
        return fed

    def _feedback(self, step_out: Tensor) -> Tensor:
        """What the model feeds itself after emitting ``step_out`` ``[B, O]``."""
        return step_out.argmax(dim=-1) if self.embed is not None else step_out

    def forward(
        self,
        state: State,
        steps: int,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        fed: Tensor | None = None,
    ) -> tuple[Tensor, State, Tensor]:
        """Decode ``steps`` outputs from ``state``; returns (outputs, state, last fed-back value).

        ``target`` ([B, steps] ids or [B, steps, D]) enables teacher forcing with probability
        ``teacher_forcing`` per step; ``fed`` continues a previous chunk (default: start input).
        """
        batch = state[0].shape[1]
        if fed is None:
            fed = self.start_input(batch, state[0])
        if target is not None and teacher_forcing >= 1.0:
            # Fully teacher-forced: one fused call over the shifted targets.
            inputs = torch.cat([fed.unsqueeze(1), target[:, :-1]], dim=1)  # [B, S, ...]
            out, state = self.rnn(self._inputs(inputs), None, state)  # [B, S, H]
            return self.head(out), state, target[:, -1]
        outputs = []
        for t in range(steps):
            out, state = self.rnn(self._inputs(fed.unsqueeze(1)), None, state)  # [B, 1, H]
            step_out = self.head(out[:, 0])  # [B, O]
            outputs.append(step_out)
            force = (
                target is not None
                and teacher_forcing > 0
                and bool(torch.rand(()) < teacher_forcing)
            )
            fed = target[:, t] if force and target is not None else self._feedback(step_out)
        return torch.stack(outputs, dim=1), state, fed  # [B, S, O]


class StateBridge(nn.Module):
    """Maps an encoder's final state to the decoder's initial state.

    Same hidden size and depth: identity. A bidirectional encoder's two directions are joined by a
    linear map per state part (h, and c for LSTM).
    """

    def __init__(self, encoder: Recurrent) -> None:
        super().__init__()
        self.layers = encoder.num_layers
        self.directions = encoder.directions
        hidden = encoder.hidden_size
        self.join = nn.ModuleList(
            nn.Linear(hidden * self.directions, hidden)
            for _ in range(encoder.state_parts if self.directions > 1 else 0)
        )

    def forward(self, state: State) -> State:
        if self.directions == 1:
            return state
        bridged = []
        for part, join in zip(state, self.join, strict=True):
            _, batch, hidden = part.shape
            both = part.view(self.layers, 2, batch, hidden)  # [layers, dirs, B, H]
            both = both.permute(0, 2, 1, 3).reshape(self.layers, batch, 2 * hidden)
            bridged.append(torch.tanh(join(both)))  # [layers, B, H]
        return tuple(bridged)


class VectorToState(nn.Module):
    """Conditions a decoder on a fixed vector: ``[B, F]`` -> initial state, one map per state part."""

    def __init__(self, input_size: int, decoder: Recurrent) -> None:
        super().__init__()
        self.layers = decoder.num_layers
        self.hidden = decoder.hidden_size
        self.maps = nn.ModuleList(
            nn.Linear(input_size, self.layers * self.hidden) for _ in range(decoder.state_parts)
        )

    def forward(self, vector: Tensor) -> State:
        batch = vector.shape[0]
        return tuple(
            torch.tanh(m(vector)).view(batch, self.layers, self.hidden).transpose(0, 1).contiguous()
            for m in self.maps
        )  # each [layers, B, H]
