"""The four topologies, each a small ``nn.Module`` composed from a :class:`Recurrent` cell stack.

Every topology has the same two entry points:

- ``forward(x, lengths=None)``: the inference pass (free-running decoders), output shaped as
  :mod:`automl_rnn.data.contract` says for ``y``.
- ``train_chunks(batch, tbptt_steps, teacher_forcing)``: the training pass as a sequence of
  :class:`Chunk` s. The LightningModule takes one optimiser step per chunk; the topology carries the
  hidden state into the next chunk detached. ``tbptt_steps=None`` (or >= the length) is one chunk:
  full BPTT.

What truncation means per topology (k = ``tbptt_steps``):

- **seq2seq**: the input is cut into chunks of k steps; each chunk's outputs get their loss and one
  optimiser step; the state flows forward across chunks but gradients stop at chunk boundaries.
- **seq2vec**: there is one loss, at the end. The steps before each sequence's last k valid steps
  run without gradient (to build the state, and the pooled sum for ``readout='mean'``); the loss
  reaches only the last k steps. One optimiser step per sequence batch.
- **encoder_decoder**: the encoder is truncated as seq2vec is; the (short) decoder runs whole.
- **vec2seq**: the emitted sequence is cut into chunks of k steps, one step per chunk, state and
  fed-back value carried detached; only the first chunk's loss reaches the conditioning map.

Bidirectional encoders (seq2vec, encoder_decoder) need the whole input, so they need full BPTT.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from automl_rnn.models.cells import Recurrent, State, detach_state, step_mask
from automl_rnn.models.decoder import Decoder, StateBridge, VectorToState

Batch = dict[str, Tensor]


@dataclass
class Chunk:
    """One optimiser step's worth of training: prediction, target and (per-step) valid mask."""

    pred: Tensor
    target: Tensor
    mask: Tensor | None = None  # [B, T] for per-step outputs or outputs of variable lengths


def _truncates(tbptt_steps: int | None, steps: int) -> bool:
    return tbptt_steps is not None and tbptt_steps < steps


def encode_truncated(
    encoder: Recurrent, x: Tensor, lengths: Tensor | None, tbptt_steps: int | None
) -> tuple[Tensor, Tensor, Tensor, State]:
    """Encode ``x`` [B, T, F] so that gradients reach only each row's last ``tbptt_steps`` steps.

    Returns ``(outputs [B, T', H], lengths [B], detached sum of earlier outputs [B, H], state)``
    where ``outputs`` covers the steps with gradient (all of them without truncation).
    """
    batch, steps, features = x.shape
    full = lengths if lengths is not None else torch.full((batch,), steps, device=x.device)
    if not _truncates(tbptt_steps, steps):
        out, state = encoder(x, lengths)  # [B, T, H]
        return out, full, out.new_zeros(batch, encoder.output_size), state
    if encoder.directions > 1:
        raise ValueError("a bidirectional encoder needs full BPTT (tbptt_steps=None)")
    k = int(tbptt_steps)  # type: ignore[arg-type]
    prefix_len = (full - k).clamp(min=0)
    if lengths is None:  # every row full length: plain slices keep the fused fast path
        with torch.no_grad():
            prefix_out, state = encoder(x[:, : steps - k])  # [B, T-k, H]
        out, state = encoder(x[:, steps - k :], None, detach_state(state))  # [B, k, H]
        return out, full.clamp(max=k), prefix_out.sum(dim=1), state
    with torch.no_grad():
        prefix_out, state = encoder(x, prefix_len)  # rows of length 0 keep a zero state
        mask = step_mask(prefix_len, steps, x)
        assert mask is not None
        prefix_sum = (prefix_out * mask.unsqueeze(-1)).sum(dim=1)  # [B, H]
    index = (prefix_len.unsqueeze(1) + torch.arange(k, device=x.device)).clamp(max=steps - 1)
    tail = x.gather(1, index.unsqueeze(-1).expand(-1, -1, features))  # [B, k, F]
    tail_len = full - prefix_len
    out, state = encoder(tail, tail_len, detach_state(state))  # [B, k, H]
    return out, tail_len, prefix_sum, state


class Seq2Seq(nn.Module):
    """An output at every step from the steps so far (causal): ``[B, T, F] -> [B, T, O]``."""

    def __init__(self, encoder: Recurrent, out_features: int) -> None:
        super().__init__()
        if encoder.directions > 1:
            raise ValueError("seq2seq is causal: it cannot be bidirectional")
        self.encoder = encoder
        self.head = nn.Linear(encoder.output_size, out_features)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        out, _ = self.encoder(x, lengths)  # [B, T, H]
        return self.head(out)  # [B, T, O]

    def train_chunks(
        self, batch: Batch, tbptt_steps: int | None, teacher_forcing: float = 0.0
    ) -> Iterator[Chunk]:
        x, y, lengths = batch["x"], batch["y"], batch.get("lengths")
        steps = x.shape[1]
        k = tbptt_steps if _truncates(tbptt_steps, steps) else steps
        assert k is not None
        state: State | None = None
        for start in range(0, steps, k):
            part_len = None if lengths is None else (lengths - start).clamp(0, k)
            out, state = self.encoder(x[:, start : start + k], part_len, state)  # [B, k, H]
            pred = self.head(out)  # [B, k, O]
            yield Chunk(pred, y[:, start : start + k], step_mask(part_len, pred.shape[1], pred))
            state = detach_state(state)


class Seq2Vec(nn.Module):
    """A whole sequence to one vector: ``[B, T, F] -> [B, O]`` (or ``[B, L, D]`` with ``out_shape``).

    ``readout='last'`` reads the top layer's final state (both directions if bidirectional);
    ``'mean'`` averages the outputs over the valid steps.
    """

    def __init__(
        self,
        encoder: Recurrent,
        out_features: int,
        readout: str = "last",
        out_shape: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        if readout not in ("last", "mean"):
            raise ValueError(f"readout must be 'last' or 'mean', got {readout!r}")
        self.encoder = encoder
        self.readout = readout
        self.out_shape = out_shape
        self.head = nn.Linear(encoder.output_size, out_features)

    def _read(
        self, out: Tensor, lengths: Tensor, prefix_sum: Tensor, full: Tensor, state: State
    ) -> Tensor:
        if self.readout == "last":
            summary = self.encoder.final_hidden(state)  # [B, H * dirs]
        else:
            mask = step_mask(lengths, out.shape[1], out)
            assert mask is not None
            total = prefix_sum + (out * mask.unsqueeze(-1)).sum(dim=1)  # [B, H * dirs]
            summary = total / full.clamp(min=1).unsqueeze(1).to(out.dtype)
        pred = self.head(summary)  # [B, O]
        return pred if self.out_shape is None else pred.view(-1, *self.out_shape)  # [B, L, D]

    def _pass(self, x: Tensor, lengths: Tensor | None, tbptt_steps: int | None) -> Tensor:
        out, part_len, prefix_sum, state = encode_truncated(self.encoder, x, lengths, tbptt_steps)
        full = lengths if lengths is not None else part_len.new_full(part_len.shape, x.shape[1])
        return self._read(out, part_len, prefix_sum, full, state)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self._pass(x, lengths, None)

    def train_chunks(
        self, batch: Batch, tbptt_steps: int | None, teacher_forcing: float = 0.0
    ) -> Iterator[Chunk]:
        yield Chunk(self._pass(batch["x"], batch.get("lengths"), tbptt_steps), batch["y"])


class EncoderDecoder(nn.Module):
    """Encoder RNN -> context (its final state) -> decoder emitting ``output_len`` steps.

    The output length does not depend on the input length. Training feeds the true previous output
    with probability ``teacher_forcing``; inference always feeds its own (free-running).
    """

    def __init__(self, encoder: Recurrent, decoder: Decoder, output_len: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.bridge = StateBridge(encoder)
        self.decoder = decoder
        self.output_len = output_len

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        _, state = self.encoder(x, lengths)
        out, _, _ = self.decoder(self.bridge(state), self.output_len)
        return out  # [B, L, O]

    def train_chunks(
        self, batch: Batch, tbptt_steps: int | None, teacher_forcing: float = 0.0
    ) -> Iterator[Chunk]:
        _, _, _, state = encode_truncated(
            self.encoder, batch["x"], batch.get("lengths"), tbptt_steps
        )
        y = batch["y"]
        out, _, _ = self.decoder(self.bridge(state), self.output_len, y, teacher_forcing)
        yield Chunk(out, y, step_mask(batch.get("out_lengths"), out.shape[1], out))


class Vec2Seq(nn.Module):
    """A fixed vector conditions a decoder that emits ``output_len`` steps: ``[B, F] -> [B, L, O]``."""

    def __init__(self, input_size: int, decoder: Decoder, output_len: int) -> None:
        super().__init__()
        self.condition = VectorToState(input_size, decoder.rnn)
        self.decoder = decoder
        self.output_len = output_len

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        out, _, _ = self.decoder(self.condition(x), self.output_len)
        return out  # [B, L, O]

    def train_chunks(
        self, batch: Batch, tbptt_steps: int | None, teacher_forcing: float = 0.0
    ) -> Iterator[Chunk]:
        y = batch["y"]
        steps = self.output_len
        k = tbptt_steps if _truncates(tbptt_steps, steps) else steps
        assert k is not None
        state = self.condition(batch["x"])
        fed: Tensor | None = None
        for start in range(0, steps, k):
            target = y[:, start : start + k]
            out, state, fed = self.decoder(state, target.shape[1], target, teacher_forcing, fed)
            yield Chunk(out, target)
            state, fed = detach_state(state), fed.detach()
