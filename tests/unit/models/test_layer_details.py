"""What the recurrent layer and the decoder promise in their docstrings, tested where mutation
testing found no test (``models/cells.py``, ``models/decoder.py``): rows of length 0 keep their
state, each cell's options reach torch's layer, and teacher forcing feeds the true value with the
probability asked."""

from __future__ import annotations

import pytest
import torch

from automl_rnn.models.cells import Recurrent
from automl_rnn.models.decoder import Decoder
from automl_rnn.models.topologies import Seq2Seq, Seq2Vec


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("with_state", [True, False])
def test_a_row_of_length_zero_keeps_its_state_and_outputs_zeros(
    cell: str, with_state: bool
) -> None:
    """Truncated BPTT over a variable-length batch: in a later chunk a finished row has length 0;
    its state must pass through unchanged (zeros when none came in) and its outputs be zeros,
    while the other rows run as they would alone."""
    torch.manual_seed(0)
    layer = Recurrent(cell, 3, 5, num_layers=2).eval()
    x = torch.randn(3, 4, 3)
    lengths = torch.tensor([4, 0, 2])
    state = None
    if with_state:
        state = tuple(torch.randn(2, 3, 5) for _ in range(layer.state_parts))  # 2 layers
    with torch.no_grad():
        out, new = layer(x, lengths, state)
        alone_out, alone_state = layer(x[[0]], lengths[[0]], None if state is None else
                                       tuple(part[:, [0]] for part in state))  # fmt: skip
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    for part_index, part in enumerate(new):
        expected = torch.zeros(2, 5) if state is None else state[part_index][:, 1]
        assert torch.equal(part[:, 1], expected)
        assert torch.allclose(part[:, 0], alone_state[part_index][:, 0], atol=1e-6)
    assert torch.allclose(out[0], alone_out[0], atol=1e-6)
    assert out[2, :2].abs().sum() > 0 and torch.equal(out[2, 2:], torch.zeros(2, 5))


def test_each_cells_options_reach_torchs_layer() -> None:
    relu = Recurrent("rnn_relu", 2, 4)
    assert isinstance(relu.rnn, torch.nn.RNN) and relu.rnn.nonlinearity == "relu"
    assert Recurrent("rnn_tanh", 2, 4).rnn.nonlinearity == "tanh"  # type: ignore[union-attr]
    assert Recurrent("gru", 2, 4, num_layers=2, dropout=0.3).rnn.dropout == 0.3
    assert Recurrent("gru", 2, 4, num_layers=1, dropout=0.3).rnn.dropout == 0.0  # no layer between
    decoder = Decoder("lstm", False, 1, 4, num_layers=2, dropout=0.25)
    assert decoder.rnn.rnn.dropout == 0.25


def _decoder(tokens: bool) -> Decoder:
    torch.manual_seed(0)
    return Decoder("gru", tokens, 5 if tokens else 2, 8, 1, 0.0).eval()


@pytest.mark.parametrize("tokens", [True, False])
def test_teacher_forcing_feeds_the_true_value_with_the_probability_asked(tokens: bool) -> None:
    decoder = _decoder(tokens)
    state = (torch.randn(1, 4, 8),)
    steps = 12
    target = torch.randint(0, 5, (4, steps)) if tokens else torch.randn(4, steps, 2) * 3

    def run(forcing: float, given: torch.Tensor | None = target) -> torch.Tensor:
        torch.manual_seed(1)
        with torch.no_grad():
            return decoder(state, steps, given, forcing)[0]

    free, forced, half = run(0.0), run(1.0), run(0.5)
    assert torch.equal(free, run(0.0, None))  # no forcing: the target is never read
    assert torch.equal(run(1.0, None), free)  # nothing to force with
    # fully forced: every step after the first reads the previous true value
    torch.manual_seed(1)
    with torch.no_grad():
        stepwise = decoder(state, steps, target, 0.999999)[0]
    assert torch.allclose(forced, stepwise, atol=1e-5)
    assert not torch.allclose(forced, free, atol=1e-4)
    # half: some steps forced, some fed back: like neither extreme
    assert not torch.allclose(half, free, atol=1e-4)
    assert not torch.allclose(half, forced, atol=1e-4)


def test_an_ignored_target_is_fed_back_as_padding() -> None:
    decoder = _decoder(tokens=True)
    assert decoder.embed is not None
    fed = decoder._inputs(torch.tensor([[-100, 3]]))
    assert torch.equal(fed[0, 0], decoder.embed.weight[0])  # -100 -> PAD (0), not token 1
    assert torch.equal(fed[0, 1], decoder.embed.weight[3])


@pytest.mark.parametrize("tbptt", [None, 3])
@pytest.mark.parametrize("with_lengths", [True, False])
def test_the_mean_readout_is_the_mean_of_the_valid_steps_outputs(
    tbptt: int | None, with_lengths: bool
) -> None:
    """Checked against the encoder's outputs themselves (the padding tests compare padded with
    unpadded rows, which a wrong scale would pass), a row of one step included."""
    from automl_rnn.data.contract import DataShape
    from automl_rnn.models.factory import ArchConfig, build_network

    torch.manual_seed(0)
    net = build_network(
        ArchConfig("gru", "seq2vec", 1, 4, readout="mean"), DataShape("classification", 2, 3, 1)
    ).eval()
    assert isinstance(net, Seq2Vec)
    x = torch.randn(3, 7, 2)
    lengths = torch.tensor([7, 4, 1]) if with_lengths else None
    counts = lengths if lengths is not None else torch.full((3,), 7)
    batch = {"x": x, "y": torch.zeros(3, dtype=torch.long)}
    if lengths is not None:
        batch["lengths"] = lengths
    with torch.no_grad():
        out, _ = net.encoder(x, lengths)
        valid = (torch.arange(7)[None] < counts[:, None]).float()
        expected = net.head((out * valid[..., None]).sum(dim=1) / counts[:, None])
        got = next(iter(net.train_chunks(batch, tbptt))).pred
    assert torch.allclose(got, expected, atol=1e-5)


def test_truncated_per_step_chunks_carry_the_mask_of_their_valid_steps() -> None:
    """Padding of a variable-length per-step target must not be trained on: each chunk says
    which of its steps are real."""
    from automl_rnn.data.contract import DataShape
    from automl_rnn.models.factory import ArchConfig, build_network

    torch.manual_seed(0)
    net = build_network(ArchConfig("gru", "seq2seq", 1, 4), DataShape("regression", 1, 1, 1))
    assert isinstance(net, Seq2Seq)
    batch = {"x": torch.randn(2, 6, 1), "y": torch.randn(2, 6, 1), "lengths": torch.tensor([6, 2])}
    masks = [chunk.mask for chunk in net.train_chunks(batch, 3)]
    assert masks[0] is not None and masks[1] is not None
    assert masks[0].tolist() == [[True, True, True], [True, True, False]]
    assert masks[1].tolist() == [[True, True, True], [False, False, False]]


@pytest.mark.parametrize("with_lengths", [True, False])
def test_truncated_encoding_sends_gradient_to_each_rows_last_steps_only(with_lengths: bool) -> None:
    """``encode_truncated``'s promise, checked on the input's gradient: every step within a
    row's last ``tbptt_steps`` gets gradient (a row no longer than that, all of its steps), no
    earlier step does, and the outputs equal the plain encoder's at those steps."""
    from automl_rnn.models.topologies import encode_truncated

    torch.manual_seed(0)
    encoder = Recurrent("gru", 2, 4)
    x = torch.randn(3, 6, 2, requires_grad=True)
    lengths = torch.tensor([6, 3, 2]) if with_lengths else None
    out, tail_len, prefix_sum, _ = encode_truncated(encoder, x, lengths, 3)
    counts = [6, 3, 2] if with_lengths else [6, 6, 6]
    assert tail_len.tolist() == [min(n, 3) for n in counts]
    valid = torch.arange(3)[None] < tail_len[:, None]
    (out * valid[..., None]).sum().backward()
    assert x.grad is not None
    reached = x.grad.abs().sum(dim=-1) > 0  # [B, T]
    for row, n in enumerate(counts):
        expected = [n - 3 <= step < n for step in range(6)]
        assert reached[row].tolist() == expected, f"row {row} of length {n}"
    with torch.no_grad():
        full, _ = encoder(x, lengths)
    for row, n in enumerate(counts):
        start = max(n - 3, 0)
        assert torch.allclose(out[row, : n - start], full[row, start:n], atol=1e-6)
        assert torch.allclose(prefix_sum[row], full[row, :start].sum(dim=0), atol=1e-5)


def test_truncated_encoding_ends_in_each_rows_own_final_state() -> None:
    """The tail chunk runs each row to its own length: the state handed on (to a decoder) is the
    one the whole row gives, not one run on through the padding."""
    from automl_rnn.models.topologies import encode_truncated

    torch.manual_seed(0)
    encoder = Recurrent("lstm", 2, 4)
    x, lengths = torch.randn(3, 7, 2), torch.tensor([7, 5, 2])
    with torch.no_grad():
        _, _, _, state = encode_truncated(encoder, x, lengths, 3)
        _, whole = encoder(x, lengths)
    for part, expected in zip(state, whole, strict=True):
        assert torch.allclose(part, expected, atol=1e-6)


def _pairs_net(tokens: bool) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    from automl_rnn.data.contract import DataShape
    from automl_rnn.models.factory import ArchConfig, build_network

    torch.manual_seed(0)
    if tokens:
        shape = DataShape("tokens", 3, 5, 4)
        net = build_network(ArchConfig("gru", "vec2seq", 1, 6), shape)
        return net, {"x": torch.randn(2, 3), "y": torch.randint(0, 5, (2, 4))}
    shape = DataShape("regression", 2, 1, 4, variable_length=True)
    net = build_network(ArchConfig("gru", "encoder_decoder", 1, 6), shape)
    batch = {
        "x": torch.randn(3, 8, 2),
        "y": torch.randn(3, 4, 1),
        "lengths": torch.tensor([8, 5, 2]),
    }
    return net, batch


@pytest.mark.parametrize("tokens", [False, True], ids=["encoder_decoder", "vec2seq"])
@pytest.mark.parametrize("tbptt", [None, 3])
def test_decoders_train_on_what_they_predict_unforced_and_on_the_truth_forced(
    tokens: bool, tbptt: int | None
) -> None:
    """Without teacher forcing, training predicts what the network predicts (each row encoded
    to its own length, truncated or not); with it, each step is fed the true previous value,
    so the predictions differ."""
    net, batch = _pairs_net(tokens)
    net.eval()
    with torch.no_grad():
        plain = net(batch["x"], batch.get("lengths"))
        free = torch.cat([c.pred for c in net.train_chunks(batch, tbptt, 0.0)], dim=1)
        forced = torch.cat([c.pred for c in net.train_chunks(batch, tbptt, 1.0)], dim=1)
    assert torch.allclose(free, plain, atol=1e-5)
    assert not torch.allclose(forced, plain, atol=1e-3)


def test_a_truncated_encoder_decoder_sends_no_gradient_to_early_input_steps() -> None:
    net, batch = _pairs_net(tokens=False)
    x = batch["x"].clone().requires_grad_(True)
    lengths = batch["lengths"]
    (chunk,) = net.train_chunks({**batch, "x": x}, 3, 0.0)
    chunk.pred.sum().backward()
    assert x.grad is not None
    reached = x.grad.abs().sum(dim=-1) > 0  # [B, T]
    for row, n in enumerate(lengths.tolist()):
        assert reached[row].tolist() == [n - 3 <= step < n for step in range(8)], row


def test_the_topologies_refuse_what_they_cannot_be() -> None:
    """Second line behind the factory's check: a causal seq2seq, or a truncated encoder, given a
    bidirectional layer, and a readout that does not exist, are refused by name."""
    from automl_rnn.models.topologies import encode_truncated

    both_ways = Recurrent("gru", 2, 4, bidirectional=True)
    with pytest.raises(ValueError, match=r"^seq2seq is causal: it cannot be bidirectional$"):
        Seq2Seq(both_ways, 1)
    with pytest.raises(
        ValueError, match=r"^a bidirectional encoder needs full BPTT \(tbptt_steps=None\)$"
    ):
        encode_truncated(both_ways, torch.randn(1, 6, 2), None, 3)
    with pytest.raises(ValueError, match=r"^readout must be 'last' or 'mean', got 'max'$"):
        Seq2Vec(Recurrent("gru", 2, 4), 1, readout="max")
    assert Seq2Vec(Recurrent("gru", 2, 4), 1).readout == "last"
