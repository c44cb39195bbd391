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


@pytest.mark.parametrize("topology", sorted(BIDIRECTIONAL_TOPOLOGIES))
@pytest.mark.parametrize("cell", CELLS)
def test_a_bidirectional_encoder_is_built_bidirectional(cell: str, topology: str) -> None:
    """The flag reaches the recurrent layer (a trial searched as bidirectional trains one): the
    encoder holds a second direction's weights."""
    shape, _ = problem(topology, n=8)
    both = build_network(ArchConfig(cell, topology, 1, 8, 0.0, True), shape)
    one = build_network(ArchConfig(cell, topology, 1, 8, 0.0, False), shape)
    layers = [m for m in both.modules() if isinstance(m, torch.nn.RNNBase)]
    assert layers and layers[0].bidirectional
    assert count_parameters(both) > count_parameters(one)


@pytest.mark.parametrize("readout", ["last", "mean"])
@pytest.mark.parametrize("float_out", [True, False])
def test_a_sequence_to_vector_network_reads_out_as_asked(readout: str, float_out: bool) -> None:
    from automl_rnn.data.contract import DataShape
    from automl_rnn.models.topologies import Seq2Vec

    shape = DataShape("regression", 2, 1, 3) if float_out else DataShape("classification", 2, 5, 1)
    net = build_network(ArchConfig("gru", "seq2vec", 1, 8, readout=readout), shape)
    assert isinstance(net, Seq2Vec) and net.readout == readout


def test_per_step_token_outputs_are_one_distribution_per_step() -> None:
    """A seq2seq token network answers ``[B, T, C]`` whatever the longest output (L = 7 here)."""
    from automl_rnn.data.contract import DataShape

    shape = DataShape("tokens", 3, 6, 7, per_step_target=True)
    net = build_network(ArchConfig("lstm", "seq2seq", 1, 8), shape)
    assert net(torch.randn(2, 9, 3), None).shape == (2, 9, 6)


def test_a_topology_that_cannot_answer_is_refused_by_name() -> None:
    from automl_rnn.data.contract import DataShape

    shape = DataShape("classification", 2, 5, 1)
    with pytest.raises(ConfigError) as unknown:
        build_network(ArchConfig("gru", "seq2sequence"), shape)
    assert str(unknown.value).startswith("unknown topology 'seq2sequence'")
    assert "seq2seq" in str(unknown.value) and "valid: " in str(unknown.value)
    with pytest.raises(ConfigError, match="topology 'vec2seq' cannot produce classification"):
        build_network(ArchConfig("gru", "vec2seq"), shape)
