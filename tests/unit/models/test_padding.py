"""Padding never changes a sequence's result: alone or batched with longer padded rows."""

from __future__ import annotations

import pytest
import torch

from automl_rnn.data.contract import DataShape
from automl_rnn.kinds import CELLS
from automl_rnn.models.factory import ArchConfig, build_network

CASES = [
    ("seq2seq", False, "last"),
    ("seq2vec", False, "last"),
    ("seq2vec", True, "last"),
    ("seq2vec", False, "mean"),
    ("seq2vec", True, "mean"),
    ("encoder_decoder", False, "last"),
    ("encoder_decoder", True, "last"),
]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize(("topology", "bidirectional", "readout"), CASES)
def test_output_alone_equals_output_in_padded_batch(
    cell: str, topology: str, bidirectional: bool, readout: str
) -> None:
    torch.manual_seed(0)
    shape = DataShape("regression", 3, 2, 4, variable_length=True)
    arch = ArchConfig(cell, topology, 2, 8, 0.0, bidirectional, readout)
    net = build_network(arch, shape).eval()
    lengths = torch.tensor([5, 11, 3, 8])
    x = torch.randn(4, 11, 3)
    x[torch.arange(11).unsqueeze(0) >= lengths.unsqueeze(1)] = 0.0  # zero padding
    x_padded_with_noise = x.clone()
    x_padded_with_noise[torch.arange(11).unsqueeze(0) >= lengths.unsqueeze(1)] = 9.0
    with torch.no_grad():
        batched = net(x, lengths)
        noisy = net(x_padded_with_noise, lengths)
        for row, length in enumerate(lengths.tolist()):
            alone = net(x[row : row + 1, :length], torch.tensor([length]))
            got = (
                batched[row : row + 1, :length] if topology == "seq2seq" else batched[row : row + 1]
            )
            torch.testing.assert_close(got, alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        noisy[:, :3] if topology == "seq2seq" else noisy,
        batched[:, :3] if topology == "seq2seq" else batched,
    )


def test_per_step_regression_validates_on_the_real_steps_only() -> None:
    """The per-epoch validation loss and MAE of a per-step regression read the real steps: a
    batch whose padded targets are 1e6 validates exactly as one whose padding is 0; and every
    real step counts (not only the last, as in a forecast)."""
    from automl_rnn import metric_names as M
    from automl_rnn.models.module import RecurrentModule, TrainConfig

    torch.manual_seed(0)
    shape = DataShape("regression", 3, 1, 1, variable_length=True, per_step_target=True)
    net = build_network(ArchConfig("gru", "seq2seq", 1, 8, 0.0, False, "last"), shape).eval()
    lengths = torch.tensor([5, 11, 3])
    x = torch.randn(3, 11, 3)
    y = torch.randn(3, 11, 1)
    padding = torch.arange(11).unsqueeze(0) >= lengths.unsqueeze(1)
    scores = []
    for fill in (0.0, 1e6):
        module = RecurrentModule(net, shape, TrainConfig(loss="mae"))
        batch = {"x": x, "y": y.masked_fill(padding.unsqueeze(-1), fill), "lengths": lengths}
        with torch.no_grad():
            module.validation_step(batch, 0)
        module._sum_validation()
        scores.append(module._val.mean(M.VAL_METRIC))
    assert scores[0] == pytest.approx(scores[1])
    with torch.no_grad():
        pred = net(x, lengths)
    real = ~padding
    expected = (pred - y).abs()[real].mean().item()
    assert scores[0] == pytest.approx(expected, rel=1e-5)


def test_encoder_decoder_outputs_past_each_rows_length_are_neither_trained_nor_validated() -> None:
    """Numeric pairs whose ids answer different numbers of steps (``out_lengths``): the training
    loss and the validation loss and MAE read each row's own output steps only, so targets of
    1e6 past them change nothing; and every real output step counts."""
    from automl_rnn import metric_names as M
    from automl_rnn.models.module import RecurrentModule, TrainConfig

    torch.manual_seed(0)
    shape = DataShape("regression", 3, 1, 6, variable_length=True)
    net = build_network(ArchConfig("gru", "encoder_decoder", 1, 8, 0.0, False, "last"), shape)
    net.eval()
    lengths, out_lengths = torch.tensor([5, 9, 3]), torch.tensor([6, 2, 4])
    x, y = torch.randn(3, 9, 3), torch.randn(3, 6, 1)
    padding = torch.arange(6).unsqueeze(0) >= out_lengths.unsqueeze(1)
    losses, scores = [], []
    for fill in (0.0, 1e6):
        batch = {
            "x": x,
            "y": y.masked_fill(padding.unsqueeze(-1), fill),
            "lengths": lengths,
            "out_lengths": out_lengths,
        }
        module = RecurrentModule(net, shape, TrainConfig(loss="mae"))
        with torch.no_grad():
            losses += [module.chunk_loss(c).item() for c in net.train_chunks(batch, None, 1.0)]
            module.validation_step(batch, 0)
        module._sum_validation()
        scores.append(module._val.mean(M.VAL_METRIC))
    assert losses[0] == pytest.approx(losses[1]) and scores[0] == pytest.approx(scores[1])
    with torch.no_grad():
        pred = net(x, lengths)
    assert scores[0] == pytest.approx((pred - y).abs()[~padding].mean().item(), rel=1e-5)
