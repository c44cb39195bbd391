"""Every cell x topology builds, has the contract's output shape, and learns a tiny problem."""

from __future__ import annotations

import pytest
import torch

from automl_rnn.errors import ConfigError
from automl_rnn.kinds import BIDIRECTIONAL_TOPOLOGIES, CELLS, TOPOLOGIES
from automl_rnn.models.factory import ArchConfig, build_network, count_parameters
from automl_rnn.models.module import RecurrentModule, TrainConfig
from tests.unit.models.problems import fit, problem

COMBINATIONS = [
    (cell, topology, bidirectional)
    for cell in CELLS
    for topology in TOPOLOGIES
    for bidirectional in ((False, True) if topology in BIDIRECTIONAL_TOPOLOGIES else (False,))
]


@pytest.mark.parametrize(("cell", "topology", "bidirectional"), COMBINATIONS)
def test_builds_with_contract_shape(cell: str, topology: str, bidirectional: bool) -> None:
    shape, batch = problem(topology, n=8)
    arch = ArchConfig(
        cell=cell,
        topology=topology,
        hidden_size=8,
        num_layers=2,
        bidirectional=bidirectional,
        dropout=0.1,
    )
    net = build_network(arch, shape).eval()
    out = net(batch["x"])
    expected = batch["y"].shape + ((shape.output_size,) if shape.kind == "tokens" else ())
    assert tuple(out.shape) == tuple(expected)
    assert count_parameters(net) > 0


@pytest.mark.parametrize(("cell", "topology"), [(c, t) for c in CELLS for t in TOPOLOGIES])
def test_training_halves_the_loss(cell: str, topology: str) -> None:
    torch.manual_seed(0)
    shape, batch = problem(topology)
    net = build_network(ArchConfig(cell=cell, topology=topology, hidden_size=32), shape)
    lr = 3e-3 if cell == "rnn_relu" else 1e-2
    module = RecurrentModule(net, shape, TrainConfig(lr=lr, teacher_forcing=1.0, grad_clip=1.0))
    losses = fit(module, batch, epochs=12)
    assert losses[-1] <= 0.5 * losses[0], (
        f"{cell} x {topology}: {losses[0]:.4f} -> {losses[-1]:.4f}"
    )


@pytest.mark.parametrize("topology", ["seq2seq", "vec2seq"])
def test_bidirectional_refused_where_outputs_are_causal(topology: str) -> None:
    shape, _ = problem(topology, n=4)
    with pytest.raises(ConfigError, match="bidirectional"):
        build_network(ArchConfig(topology=topology, bidirectional=True), shape)


def test_unknown_cell_names_the_valid_ones() -> None:
    shape, _ = problem("seq2vec", n=4)
    with pytest.raises(ConfigError, match=r"unknown cell 'lstn' \(did you mean 'lstm'\?\)"):
        build_network(ArchConfig(cell="lstn"), shape)


@pytest.mark.parametrize("cell", CELLS)
def test_encoder_is_one_fused_call_without_tbptt(cell: str) -> None:
    """With TBPTT off the whole layer stack runs as one call of torch's RNN module."""
    shape, batch = problem("seq2vec", n=8, steps=50)
    net = build_network(ArchConfig(cell=cell, topology="seq2vec", num_layers=3), shape)
    calls = []
    rnn = net.encoder.rnn  # type: ignore[union-attr]
    rnn.register_forward_hook(lambda *_: calls.append(1))
    chunks = list(net.train_chunks(batch, None))  # type: ignore[operator]
    assert len(chunks) == 1 and len(calls) == 1
