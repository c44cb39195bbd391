"""The validation metrics the search ranks trials by (``RecurrentModule``'s validation path),
checked through a real Trainer's ``validate`` against metrics computed here from the network's
own outputs: the forecast that counts (a seq2seq forecast's last valid step), the data's units,
the loss in scaled units, accuracy pooled over every scored value (not averaged per batch), the
exact-match share of sequences, and batches of different sizes weighted by their rows. Found
without a unit test by mutation testing (``models/module.py``: the validation path's mutants
survived; only the searches in ``tests/contract`` ran it)."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from automl_rnn import metric_names as M
from automl_rnn.data.contract import IGNORE_INDEX, DataShape
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig

Batch = dict[str, Tensor]


def validate(module: RecurrentModule, batches: list[Batch]) -> dict[str, float]:
    """What a real Trainer's validation epoch logs for ``batches``."""
    trainer = pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    loader = DataLoader(batches, batch_size=None)  # type: ignore[arg-type]
    (logged,) = trainer.validate(module, loader, verbose=False)
    return {name: float(value) for name, value in logged.items()}


def weighted(values: list[float], rows: list[int]) -> float:
    return sum(v * n for v, n in zip(values, rows, strict=True)) / sum(rows)


@pytest.mark.parametrize("with_lengths", [True, False])
def test_a_seq2seq_forecast_is_scored_at_each_rows_last_valid_step_in_the_datas_units(
    with_lengths: bool,
) -> None:
    torch.manual_seed(0)
    shape = DataShape("forecast", 2, 1, 3, variable_length=with_lengths)
    net = build_network(ArchConfig("gru", "seq2seq", 1, 8), shape).eval()
    module = RecurrentModule(net, shape, TrainConfig(loss="mse"))
    batches: list[Batch] = []
    losses, maes, rows = [], [], []
    for size, lengths in ((3, [6, 4, 2]), (1, [5])):
        x, y = torch.randn(size, 6, 2), torch.randn(size, 6, 3)
        loc, scale = torch.randn(size, 1, 1) * 10, torch.rand(size, 1, 1) * 5 + 0.5
        batch = {"x": x, "y": y, "loc": loc, "scale": scale}
        last = torch.tensor(lengths) - 1 if with_lengths else torch.full((size,), 5)
        if with_lengths:
            batch["lengths"] = torch.tensor(lengths)
        with torch.no_grad():
            pred = net(x, batch.get("lengths"))
        picked = pred[torch.arange(size), last].view(size, 3, 1)
        target = y[torch.arange(size), last].view(size, 3, 1)
        losses.append(F.mse_loss(picked, target).item())
        maes.append(((picked - target) * scale).abs().mean().item())  # loc cancels
        rows.append(size)
        batches.append(batch)
    logged = validate(module, batches)
    assert logged[M.VAL_LOSS] == pytest.approx(weighted(losses, rows), rel=1e-5)
    assert logged[M.VAL_METRIC] == pytest.approx(weighted(maes, rows), rel=1e-5)
    assert set(logged) == {M.VAL_LOSS, M.VAL_METRIC}


def test_to_original_units_applies_scale_then_loc_and_passes_unscaled_batches() -> None:
    shape = DataShape("forecast", 1, 1, 2)
    module = RecurrentModule(build_network(ArchConfig("gru", "seq2vec", 1, 4), shape), shape,
                             TrainConfig())  # fmt: skip
    values = torch.tensor([[[1.0], [2.0]]])
    batch = {"loc": torch.tensor([[[10.0]]]), "scale": torch.tensor([[[3.0]]])}
    assert module.to_original_units(values, batch).flatten().tolist() == [13.0, 16.0]
    assert module.to_original_units(values, {}) is values


def test_classification_accuracy_is_pooled_over_rows_and_the_loss_weighted_by_rows() -> None:
    """Batches of 3 and 1 rows: a per-batch mean of accuracy would weigh the lone row as much
    as the other three."""
    torch.manual_seed(1)
    shape = DataShape("classification", 2, 3, 1)
    net = build_network(ArchConfig("gru", "seq2vec", 1, 8), shape).eval()
    module = RecurrentModule(net, shape, TrainConfig())
    batches, losses, correct, rows = [], [], 0, []
    for size in (3, 1):
        x = torch.randn(size, 5, 2)
        with torch.no_grad():
            pred = net(x, None)
        y = pred.argmax(dim=-1)
        y[0] = (y[0] + 1) % 3  # the first row of each batch wrong, the others right
        batches.append({"x": x, "y": y})
        losses.append(F.cross_entropy(pred, y).item())
        correct += int((pred.argmax(dim=-1) == y).sum())
        rows.append(size)
    logged = validate(module, batches)
    assert logged[M.VAL_METRIC] == pytest.approx(correct / 4) and correct == 2
    assert logged[M.VAL_LOSS] == pytest.approx(weighted(losses, rows), rel=1e-5)
    assert M.VAL_EXACT not in logged  # one label per row: no sequence to match exactly


def test_per_step_labels_score_valid_steps_only_and_exact_rows_all_their_steps() -> None:
    torch.manual_seed(2)
    shape = DataShape("tokens", 2, 3, 5, variable_length=True)  # a label at every step
    net = build_network(ArchConfig("gru", "seq2seq", 1, 8), shape).eval()
    module = RecurrentModule(net, shape, TrainConfig())
    x, lengths = torch.randn(3, 5, 2), torch.tensor([5, 3, 2])
    with torch.no_grad():
        pred = net(x, lengths)
    y = pred.argmax(dim=-1)  # [3, 5], all right...
    y[1, 1] = (y[1, 1] + 1) % 3  # ...but one valid step of row 1
    y[2, 4] = (y[2, 4] + 1) % 3  # a padding step of row 2: not scored
    logged = validate(module, [{"x": x, "y": y, "lengths": lengths}])
    assert logged[M.VAL_METRIC] == pytest.approx(9 / 10)  # 10 valid steps, 9 right
    assert logged[M.VAL_EXACT] == pytest.approx(2 / 3)  # rows 0 and 2 right at every valid step
    valid = torch.arange(5)[None] < lengths[:, None]
    expected_loss = F.cross_entropy(pred[valid], y[valid]).item()
    assert logged[M.VAL_LOSS] == pytest.approx(expected_loss, rel=1e-5)


def test_token_outputs_ignore_their_padding_and_count_exact_sequences() -> None:
    torch.manual_seed(3)
    shape = DataShape("tokens", 4, 5, 4)
    net = build_network(ArchConfig("gru", "vec2seq", 1, 8), shape).eval()
    module = RecurrentModule(net, shape, TrainConfig(teacher_forcing=0.0))
    x = torch.randn(2, 4)
    with torch.no_grad():
        pred = net(x, None)
    y = pred.argmax(dim=-1)  # [2, 4]
    y[0, 3] = IGNORE_INDEX  # row 0: three tokens, all right
    y[1, 0] = (y[1, 0] + 1) % 5  # row 1: four tokens, the first wrong
    logged = validate(module, [{"x": x, "y": y}])
    assert logged[M.VAL_METRIC] == pytest.approx(6 / 7)
    assert logged[M.VAL_EXACT] == pytest.approx(1 / 2)
    scored = y != IGNORE_INDEX
    assert logged[M.VAL_LOSS] == pytest.approx(F.cross_entropy(pred[scored], y[scored]).item(),
                                               rel=1e-5)  # fmt: skip


def test_calling_the_module_calls_its_network_with_the_lengths() -> None:
    torch.manual_seed(4)
    shape = DataShape("regression", 2, 1, 1, variable_length=True)
    net = build_network(ArchConfig("gru", "seq2vec", 1, 4), shape).eval()
    module = RecurrentModule(net, shape, TrainConfig())
    x, lengths = torch.randn(2, 5, 2), torch.tensor([5, 2])
    with torch.no_grad():
        assert torch.equal(module(x, lengths), net(x, lengths))
        assert not torch.equal(module(x, lengths), module(x))


def test_per_step_values_are_validated_on_valid_steps_only_a_lone_one_included() -> None:
    """Padding of 1e6 changes neither the loss nor the MAE; a batch whose only valid value is
    one step scores that step's error (no floor above one value)."""
    torch.manual_seed(6)
    shape = DataShape("regression", 2, 1, 1, variable_length=True, per_step_target=True)
    net = build_network(ArchConfig("gru", "seq2seq", 1, 4), shape).eval()
    x, y = torch.randn(3, 5, 2), torch.randn(3, 5, 1)
    lengths = torch.tensor([5, 3, 1])
    padding = (torch.arange(5)[None] >= lengths[:, None]).unsqueeze(-1)
    logged = [
        validate(RecurrentModule(net, shape, TrainConfig(loss="mse")),
                 [{"x": x, "y": y.masked_fill(padding, fill), "lengths": lengths}])
        for fill in (0.0, 1e6)
    ]  # fmt: skip
    with torch.no_grad():
        pred = net(x, lengths)
    valid = ~padding.squeeze(-1)
    assert logged[0] == pytest.approx(logged[1])
    assert logged[0][M.VAL_LOSS] == pytest.approx(((pred - y) ** 2)[valid].mean().item(), rel=1e-5)
    assert logged[0][M.VAL_METRIC] == pytest.approx((pred - y).abs()[valid].mean().item(), rel=1e-5)
    lone = {"x": x[2:], "y": y[2:], "lengths": lengths[2:]}
    alone = validate(RecurrentModule(net, shape, TrainConfig()), [lone])
    assert alone[M.VAL_METRIC] == pytest.approx((pred[2, 0] - y[2, 0]).abs().item(), rel=1e-5)


def test_variable_length_sequences_get_one_label_each() -> None:
    """Labelled sequences of different lengths: one label per row, scored per row."""
    torch.manual_seed(7)
    shape = DataShape("classification", 2, 3, 1, variable_length=True)
    net = build_network(ArchConfig("gru", "seq2vec", 1, 8), shape).eval()
    x, lengths = torch.randn(4, 6, 2), torch.tensor([6, 4, 2, 1])
    with torch.no_grad():
        pred = net(x, lengths)
    y = pred.argmax(dim=-1)
    y[3] = (y[3] + 1) % 3
    logged = validate(
        RecurrentModule(net, shape, TrainConfig()), [{"x": x, "y": y, "lengths": lengths}]
    )
    assert logged[M.VAL_METRIC] == pytest.approx(3 / 4)


def test_the_exact_share_is_weighted_by_each_batchs_rows() -> None:
    """Batches of 3 rows (all exact) and 1 row (not): 3 of 4 sequences, not the mean of 1 and 0."""
    torch.manual_seed(8)
    shape = DataShape("tokens", 4, 5, 4)
    net = build_network(ArchConfig("gru", "vec2seq", 1, 8), shape).eval()
    batches = []
    for size, wrong in ((3, False), (1, True)):
        x = torch.randn(size, 4)
        with torch.no_grad():
            y = net(x, None).argmax(dim=-1)
        if wrong:
            y[0, 0] = (y[0, 0] + 1) % 5
        batches.append({"x": x, "y": y})
    logged = validate(RecurrentModule(net, shape, TrainConfig()), batches)
    assert logged[M.VAL_EXACT] == pytest.approx(3 / 4)
    assert logged[M.VAL_METRIC] == pytest.approx(15 / 16)
