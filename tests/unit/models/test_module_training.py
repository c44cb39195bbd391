"""``RecurrentModule``'s training side where mutation testing found no test: the throughput and
epoch-time metrics (against a fake clock, so the figures are exact), samples counted in rows per
epoch, gradient clipping on and off, the optimiser and its weight decay, the plateau schedule
watching the validation loss when there is one, the teacher-forcing probability reaching the
decoder, the moving average starting from step 0, and no device flag left on the optimiser."""

from __future__ import annotations

import math

import pytest
import torch

import automl_rnn.models.module as module_code
from automl_rnn import metric_names as M
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig
from tests.unit.models.problems import fit, problem


class FakeClock:
    """``time.perf_counter`` that advances ``tick`` seconds per call."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def perf_counter(self) -> float:
        self.now += self.tick
        return self.now


def seq2vec_module(config: TrainConfig, n: int = 128) -> tuple[RecurrentModule, dict]:
    torch.manual_seed(0)
    shape, batch = problem("seq2vec", n=n)
    net = build_network(ArchConfig(cell="gru", topology="seq2vec", hidden_size=4), shape)
    return RecurrentModule(net, shape, config), batch


@pytest.mark.parametrize("tick", [1.0, 1e-4])
def test_throughput_counts_rows_per_epoch_over_the_time_spent_training(
    monkeypatch: pytest.MonkeyPatch, tick: float
) -> None:
    """Per epoch, each of the 4 batches (32 rows of 12 steps) takes one tick between its start
    and end, the end-of-epoch guard read one more: 128 rows / 5 ticks (a fast epoch too); the
    epoch spans every tick from its start to its end."""
    monkeypatch.setattr(module_code, "time", FakeClock(tick))
    module, batch = seq2vec_module(TrainConfig())
    fit(module, batch, epochs=2)
    for epoch in module.history:
        assert epoch[M.SAMPLES_PER_SECOND] == pytest.approx(128 / (5 * tick))
        assert epoch[M.EPOCH_SECONDS] == pytest.approx((2 * 4 + 2 + 1) * tick)


@pytest.mark.parametrize("clip", [0.5, None])
def test_gradients_are_clipped_to_the_bound_or_left_alone(clip: float | None) -> None:
    module, _ = seq2vec_module(TrainConfig(grad_clip=clip))
    module._params = [p for p in module.parameters() if p.requires_grad]
    for param in module._params:
        param.grad = torch.full_like(param, 3.0)
    norm_before = torch.cat([p.grad.flatten() for p in module._params]).norm()  # type: ignore[union-attr]
    returned = module._clip_gradients()
    norm_after = torch.cat([p.grad.flatten() for p in module._params]).norm()  # type: ignore[union-attr]
    assert returned.item() == pytest.approx(norm_before.item())  # the norm before clipping
    expected = norm_before.item() if clip is None else clip
    assert norm_after.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("name", "cls"), [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]
)
def test_the_optimiser_asked_for_gets_the_rate_and_weight_decay(name: str, cls: type) -> None:
    module, batch = seq2vec_module(TrainConfig(optimizer=name, lr=0.02, weight_decay=0.125), n=32)
    fit(module, batch, epochs=1)
    optimizer = module._optimizer
    assert type(optimizer) is cls
    assert optimizer is not None
    assert optimizer.param_groups[0]["weight_decay"] == 0.125
    assert optimizer.param_groups[0]["lr"] == 0.02
    assert not hasattr(optimizer, "found_inf")  # the step-skip flag is not left behind


def test_the_plateau_schedule_watches_the_validation_loss_when_there_is_one() -> None:
    module, batch = seq2vec_module(TrainConfig(lr=0.01, lr_schedule="plateau"), n=32)
    fit(module, batch, epochs=1)  # attaches the optimiser and its schedule
    optimizer = module._optimizer
    assert optimizer is not None
    for epoch in range(6):  # validation improves every epoch while training worsens
        module._step_schedule({M.VAL_LOSS: 1.0 - 0.1 * epoch, M.TRAIN_LOSS: 1.0 + epoch})
    assert optimizer.param_groups[0]["lr"] == 0.01
    for _ in range(3):  # validation stalls (patience 2): the rate halves once
        module._step_schedule({M.VAL_LOSS: 1.0, M.TRAIN_LOSS: 0.1})
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.005)


def test_the_teacher_forcing_probability_reaches_the_decoder() -> None:
    losses = {}
    for forcing in (0.0, 1.0):
        torch.manual_seed(0)
        shape, batch = problem("encoder_decoder", n=32)
        net = build_network(
            ArchConfig(cell="gru", topology="encoder_decoder", hidden_size=4), shape
        )
        module = RecurrentModule(net, shape, TrainConfig(teacher_forcing=forcing))
        losses[forcing] = fit(module, batch, epochs=2)
        assert all(math.isfinite(v) for v in losses[forcing])
    assert losses[0.0] != losses[1.0]


def test_the_moving_average_starts_at_step_zero() -> None:
    """After one optimiser step the average is ``d * w0 + (1 - d) * w1`` with the ramped decay
    ``d = (1 + 1) / (10 + 1)``."""
    module, batch = seq2vec_module(TrainConfig(ema_decay=0.999), n=32)
    start = {k: v.clone() for k, v in module.net.state_dict().items()}
    fit(module, {k: v[:32] for k, v in batch.items()}, epochs=1)  # one batch: one step
    assert module.average is not None and module.average.steps == 1
    decay = 2 / 11
    averaged = module.kept_state()
    for name, after in module.net.state_dict().items():
        if name in module.average.state():
            expected = decay * start[name] + (1 - decay) * after
            assert torch.allclose(averaged[name], expected, atol=1e-6), name


def test_a_chunks_loss_reads_its_valid_steps_only() -> None:
    """Per-step labels (cross-entropy) and per-step values (the mean over valid values, a chunk
    with one valid value included), against losses computed on the valid steps alone."""
    from automl_rnn.data.contract import DataShape
    from automl_rnn.models.topologies import Chunk

    torch.manual_seed(5)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    labels = DataShape("tokens", 2, 4, 3)
    module = RecurrentModule(build_network(ArchConfig("gru", "seq2seq", 1, 4), labels), labels,
                             TrainConfig())  # fmt: skip
    pred, target = torch.randn(2, 3, 4), torch.randint(0, 4, (2, 3))
    expected = torch.nn.functional.cross_entropy(pred[mask], target[mask])
    assert module.chunk_loss(Chunk(pred, target, mask)).item() == pytest.approx(expected.item())

    values = DataShape("regression", 2, 2, 1)
    module = RecurrentModule(build_network(ArchConfig("gru", "seq2seq", 1, 4), values), values,
                             TrainConfig(loss="mae"))  # fmt: skip
    pred, target = torch.randn(2, 3, 2), torch.randn(2, 3, 2)
    expected = (pred - target).abs()[mask].mean()
    assert module.chunk_loss(Chunk(pred, target, mask)).item() == pytest.approx(expected.item())
    one = torch.tensor([[False, True, False], [False, False, False]])
    pred, target = torch.randn(2, 3, 1), torch.randn(2, 3, 1)
    module.shape = DataShape("regression", 2, 1, 1)
    expected = (pred - target).abs()[one].mean()
    assert module.chunk_loss(Chunk(pred, target, one)).item() == pytest.approx(expected.item())


def test_a_batch_moves_to_the_training_device_whole() -> None:
    """On the CPU a contract batch is passed as the loader made it; elsewhere every tensor is
    copied over (``meta`` stands in for an accelerator), a batch of another type by Lightning."""
    module, _ = seq2vec_module(TrainConfig(), n=32)
    batch = {"x": torch.randn(2, 3, 1), "lengths": torch.tensor([3, 2])}
    assert module.transfer_batch_to_device(batch, torch.device("cpu"), 0) is batch
    moved = module.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert set(moved) == {"x", "lengths"} and {v.device.type for v in moved.values()} == {"meta"}
    as_list = module.transfer_batch_to_device([batch["x"]], torch.device("meta"), 0)
    assert as_list[0].device.type == "meta"
