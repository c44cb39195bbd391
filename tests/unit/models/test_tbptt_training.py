"""Truncated BPTT trains: a real fit takes one backward pass and optimiser step per chunk, and
every chunk after the first starts from a state (and fed-back value) cut from the previous graph.

``test_tbptt.py`` checks the forward passes and gradients of single chunks; these tests run the
backward passes of *consecutive* chunks, which fail ("backward through the graph a second time")
as soon as a topology carries its state into the next chunk without detaching it.
"""

from __future__ import annotations

import math

import pytest
import torch

from automl_rnn.data.contract import DataShape
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig
from tests.unit.models.problems import Batch, batches, fit, problem

ROWS = 64  # two mini-batches of 32 (``problems.fit`` batches by 32)


def _float_vec2seq(n: int = ROWS, steps: int = 6, seed: int = 0) -> tuple[DataShape, Batch]:
    """A vector -> a float sequence (the decoder feeds back its own values, which carry
    gradients unlike fed-back token ids): y_t = a * t + b from x = (a, b)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    t = torch.arange(steps).float() / steps
    y = (x[:, :1] * t + x[:, 1:]).unsqueeze(-1)  # [n, steps, 1]
    return DataShape("regression", 2, 1, steps), {"x": x, "y": y}


# (name, topology, cell, tbptt_steps, teacher_forcing): each k is shorter than what it chunks.
CASES = [
    ("vec2seq-tokens-lstm", "vec2seq", "lstm", 1, 1.0),  # 4 output steps -> 4 chunks
    ("vec2seq-tokens-gru", "vec2seq", "gru", 3, 0.0),  # 4 output steps -> chunks of 3 and 1
    ("vec2seq-float-free-running", "vec2seq", "lstm", 2, 0.0),  # fed-back values carry grads
    ("vec2seq-float-teacher-forced", "vec2seq", "gru", 4, 0.5),  # 6 output steps -> 4 + 2
    ("seq2seq", "seq2seq", "lstm", 5, 0.0),  # 12 input steps -> chunks of 5, 5, 2
    ("seq2vec", "seq2vec", "lstm", 5, 0.0),  # one chunk, gradients through the last 5 steps
    ("encoder_decoder", "encoder_decoder", "gru", 5, 0.5),  # truncated encoder, whole decoder
]


def _chunks_per_batch(topology: str, steps: int, k: int) -> int:
    """Optimiser steps per mini-batch: vec2seq chunks its output, seq2seq its input."""
    return math.ceil(steps / k) if topology in ("vec2seq", "seq2seq") else 1


@pytest.mark.parametrize(
    ("topology", "cell", "tbptt", "teacher_forcing", "floats"),
    [(t, c, k, tf, "float" in name) for name, t, c, k, tf in CASES],
    ids=[name for name, *_ in CASES],
)
def test_truncated_training_takes_a_backward_pass_and_optimiser_step_per_chunk(
    topology: str, cell: str, tbptt: int, teacher_forcing: float, floats: bool
) -> None:
    torch.manual_seed(0)
    shape, data = _float_vec2seq() if floats else problem(topology, n=ROWS)
    net = build_network(ArchConfig(cell=cell, topology=topology, hidden_size=8), shape)
    config = TrainConfig(lr=1e-2, tbptt_steps=tbptt, teacher_forcing=teacher_forcing)
    module = RecurrentModule(net, shape, config)
    before = [p.detach().clone() for p in net.parameters()]

    losses = fit(module, data, epochs=2)

    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True))
    # Every chunk's loss reached the output head: its optimiser state counts one step per chunk.
    steps = shape.output_len if topology == "vec2seq" else data["x"].shape[1]
    per_epoch = len(batches(data)) * _chunks_per_batch(topology, steps, tbptt)
    optimizer = module.trainer.optimizers[0]
    head = net.decoder.head if topology in ("vec2seq", "encoder_decoder") else net.head
    assert int(optimizer.state[head.weight]["step"]) == 2 * per_epoch


@pytest.mark.parametrize("floats", [False, True], ids=["tokens", "floats"])
def test_vec2seq_chunks_start_from_a_state_cut_from_the_previous_chunk(floats: bool) -> None:
    """Backward on every chunk in turn, as training does: only the first chunk's loss reaches
    the conditioning map, and no chunk's backward needs an earlier chunk's (freed) graph."""
    torch.manual_seed(0)
    shape, data = _float_vec2seq(n=8) if floats else problem("vec2seq", n=8)
    net = build_network(ArchConfig(cell="lstm", topology="vec2seq", hidden_size=8), shape)
    module = RecurrentModule(net, shape, TrainConfig())
    condition = list(net.condition.parameters())
    reached = []
    for chunk in net.train_chunks(data, 1, 0.0):  # type: ignore[operator]
        net.zero_grad(set_to_none=True)
        module.chunk_loss(chunk).backward()  # frees this chunk's graph
        reached.append(any(p.grad is not None and p.grad.abs().sum() > 0 for p in condition))
    assert len(reached) == shape.output_len
    assert reached == [True] + [False] * (shape.output_len - 1)
