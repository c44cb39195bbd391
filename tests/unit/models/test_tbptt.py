"""Truncated BPTT: k >= T is full BPTT; shorter k keeps the forward pass and really truncates."""

from __future__ import annotations

import pytest
import torch

from automl_rnn.kinds import CELLS
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig
from tests.unit.models.problems import problem, variable_lengths


def _net(topology: str, cell: str, steps: int = 24, readout: str = "last"):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    shape, batch = problem(topology, n=6, steps=steps)
    arch = ArchConfig(cell=cell, topology=topology, hidden_size=8, num_layers=2, readout=readout)
    return build_network(arch, shape), shape, batch


def _grads(module: RecurrentModule, batch: dict, tbptt: int | None) -> list[torch.Tensor]:
    module.zero_grad()
    total = sum(module.chunk_loss(c) for c in module.net.train_chunks(batch, tbptt, 1.0))  # type: ignore[operator]
    total.backward()  # type: ignore[union-attr]
    return [p.grad.clone() for p in module.parameters() if p.grad is not None]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("topology", ["seq2seq", "seq2vec", "encoder_decoder"])
def test_k_at_least_length_equals_full_bptt(cell: str, topology: str) -> None:
    net, shape, batch = _net(topology, cell)
    module = RecurrentModule(net, shape, TrainConfig())
    steps = batch["x"].shape[1]
    # Reference: one plain forward pass over the whole sequence (what full BPTT differentiates).
    module.zero_grad()
    ref_pred = net(batch["x"]) if topology != "encoder_decoder" else None
    if ref_pred is not None:
        from automl_rnn.models.topologies import Chunk

        module.chunk_loss(Chunk(ref_pred, batch["y"])).backward()
        reference = [p.grad.clone() for p in module.parameters() if p.grad is not None]
    else:
        reference = _grads(module, batch, None)
    for k in (steps, steps + 7):
        for got, want in zip(_grads(module, batch, k), reference, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_chunked_seq2seq_outputs_equal_unchunked(cell: str, with_lengths: bool) -> None:
    net, _, batch = _net("seq2seq", cell)
    if with_lengths:
        batch = variable_lengths(batch, torch.tensor([24, 5, 17, 8, 1, 23]))
    full = net(batch["x"], batch.get("lengths"))
    chunks = list(net.train_chunks(batch, 7))  # type: ignore[operator]
    assert len(chunks) == 4  # ceil(24 / 7)
    chunked = torch.cat([c.pred for c in chunks], dim=1)
    if with_lengths:
        valid = torch.arange(24).unsqueeze(0) < batch["lengths"].unsqueeze(1)
        torch.testing.assert_close(chunked[valid], full[valid], rtol=1e-5, atol=1e-6)
    else:
        torch.testing.assert_close(chunked, full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("readout", ["last", "mean"])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_seq2vec_truncation_cuts_gradients_before_the_last_k_steps(
    cell: str, readout: str, with_lengths: bool
) -> None:
    net, _, batch = _net("seq2vec", cell, readout=readout)
    k = 5
    lengths = torch.tensor([24, 9, 17, 12, 6, 23]) if with_lengths else torch.full((6,), 24)
    if with_lengths:
        batch = variable_lengths(batch, lengths)
    full = net(batch["x"], batch.get("lengths"))
    x = batch["x"].clone().requires_grad_(True)
    (chunk,) = net.train_chunks({**batch, "x": x}, k)  # type: ignore[operator]
    torch.testing.assert_close(chunk.pred, full, rtol=1e-5, atol=1e-6)  # same forward pass
    chunk.pred.pow(2).sum().backward()
    assert x.grad is not None
    steps = torch.arange(24).unsqueeze(0)
    before = steps < (lengths - k).unsqueeze(1)  # [B, T]: steps before each row's last k
    last_k = (~before) & (steps < lengths.unsqueeze(1))
    assert torch.count_nonzero(x.grad[before]) == 0  # exactly zero: truncation truncates
    assert torch.count_nonzero(x.grad[last_k]) > 0


@pytest.mark.parametrize("cell", CELLS)
def test_seq2seq_chunk_gradient_stops_at_the_boundary(cell: str) -> None:
    net, _, batch = _net("seq2seq", cell)
    x = batch["x"].clone().requires_grad_(True)
    chunks = net.train_chunks({**batch, "x": x}, 8)  # type: ignore[operator]
    next(chunks)  # the first chunk (steps 0-7)
    second = next(chunks)  # steps 8-15, state carried in detached
    second.pred.sum().backward()
    assert x.grad is not None
    assert torch.count_nonzero(x.grad[:, :8]) == 0
    assert torch.count_nonzero(x.grad[:, 8:16]) > 0


@pytest.mark.parametrize("cell", CELLS)
def test_vec2seq_chunks_with_teacher_forcing_equal_one_pass(cell: str) -> None:
    torch.manual_seed(0)
    shape, batch = problem("vec2seq", n=6)
    net = build_network(ArchConfig(cell=cell, topology="vec2seq", hidden_size=8), shape)
    (whole,) = net.train_chunks(batch, None, 1.0)  # type: ignore[operator]
    parts = list(net.train_chunks(batch, 3, 1.0))  # type: ignore[operator]
    assert len(parts) == 2
    torch.testing.assert_close(torch.cat([p.pred for p in parts], dim=1), whole.pred)
