"""The divergence guard: a planted NaN or gradient explosion raises before the weights change."""

from __future__ import annotations

import math

import pytest
import torch

from automl_rnn import metric_names as M
from automl_rnn.models import module as module_code
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.guard import GUARD_EVERY, StepGuard
from automl_rnn.models.module import DivergedError, RecurrentModule, TrainConfig
from tests.unit.models.problems import fit, problem


def _module(config: TrainConfig, n: int = 64) -> tuple[RecurrentModule, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    shape, batch = problem("seq2vec", n=n)
    net = build_network(ArchConfig(cell="lstm", topology="seq2vec", hidden_size=8), shape)
    return RecurrentModule(net, shape, config), batch


def test_planted_nan_raises_typed_error_and_keeps_weights() -> None:
    module, batch = _module(TrainConfig())
    batch["x"][40, 3, 0] = float("nan")  # in the second mini-batch: one good step happens first
    with pytest.raises(DivergedError) as caught:
        fit(module, batch, epochs=1)
    assert caught.value.reason == "diverged: non-finite loss"
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_planted_gradient_explosion_raises_typed_error_and_keeps_weights() -> None:
    module, batch = _module(TrainConfig(max_grad_norm=1e3, grad_clip=1.0))
    batch["y"][40:] *= 1e6  # targets a million times off: the gradient norm explodes
    before = None

    def remember(*_: object) -> None:
        nonlocal before
        before = [p.detach().clone() for p in module.parameters()]

    module.net.encoder.register_forward_pre_hook(remember)  # once per training step
    with pytest.raises(DivergedError) as caught:
        fit(module, batch, epochs=1)
    assert caught.value.reason.startswith("diverged: gradient norm ")
    assert float(caught.value.reason.rsplit(" ", 1)[1]) > 1e3
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert before is not None  # the weights are those the failing step started from
    for kept, param in zip(before, module.parameters(), strict=True):
        assert torch.equal(kept, param.detach())


def _forward_snapshots(module: RecurrentModule) -> list[list[torch.Tensor]]:
    """The weights each training step starts from, one entry per forward pass."""
    seen: list[list[torch.Tensor]] = []

    def remember(*_: object) -> None:
        seen.append([p.detach().clone() for p in module.parameters()])

    module.net.encoder.register_forward_pre_hook(remember)
    return seen


@pytest.mark.parametrize("fused", [True, False])
def test_a_bad_step_mid_epoch_changes_nothing_until_the_guard_reads_it(
    fused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fused Adam skips the bad step and every later one on the device-side flag; the host read
    (at the epoch's end here) raises with the weights and Adam's state as the bad step found
    them. Without a fused optimiser the guard reads every step and raises at once."""
    if not fused:
        monkeypatch.setattr(module_code, "_FUSED_DEVICES", frozenset())
    module, batch = _module(TrainConfig(), n=256)
    batch["x"][40, 3, 0] = float("nan")  # the second of 8 mini-batches
    seen = _forward_snapshots(module)
    with pytest.raises(DivergedError, match="non-finite loss"):
        fit(module, batch, epochs=1)
    assert len(seen) == (8 if fused else 2)  # deferred: the epoch ran on, changing nothing
    for kept, param in zip(seen[1], module.parameters(), strict=True):
        assert torch.equal(kept, param.detach())
    optimizer = module.optimizers().optimizer  # type: ignore[union-attr]
    steps = {int(state["step"]) for state in optimizer.state.values()}
    assert steps == {1}  # only the good first step counted in Adam's state
    assert all(group["fused"] is fused for group in optimizer.param_groups)


def test_the_guard_reads_the_flag_every_guard_every_steps() -> None:
    torch.manual_seed(0)
    shape, batch = problem("seq2vec", n=32 * (GUARD_EVERY + 8))
    net = build_network(ArchConfig(cell="gru", topology="seq2vec", hidden_size=4), shape)
    module = RecurrentModule(net, shape, TrainConfig())
    batch["x"][0, 0, 0] = float("inf")  # the first step is bad
    seen = _forward_snapshots(module)
    with pytest.raises(DivergedError):
        fit(module, batch, epochs=1)
    assert len(seen) == GUARD_EVERY  # raised at the first read, not at the epoch's end
    for kept, param in zip(seen[0], module.parameters(), strict=True):
        assert torch.equal(kept, param.detach())  # the initial weights


@pytest.mark.parametrize("bound", [1e3, 0.1, math.inf])
def test_device_flag_and_host_check_agree_at_the_bound(bound: float) -> None:
    """Norms at, just above and just below the bound as the norm's dtype rounds it, and
    non-finite values: the device flag is set exactly when the host read raises."""
    limit = torch.tensor(min(bound, torch.finfo(torch.float32).max), dtype=torch.float32)
    norms = [
        limit,
        torch.nextafter(limit, torch.tensor(math.inf)),
        torch.nextafter(limit, torch.tensor(0.0)),
        torch.tensor(math.inf),
        torch.tensor(math.nan),
        torch.tensor(0.5),
    ]
    losses = [torch.tensor(1.0), torch.tensor(math.inf), torch.tensor(-math.inf)]
    for loss in losses:
        for norm in norms:
            guard = StepGuard(bound)
            flag = guard.record(loss, norm, rows=4)
            try:
                guard.flush()
                raised = False
            except DivergedError:
                raised = True
            assert bool(flag) is raised, (bound, float(loss), float(norm))


def test_cpu_batches_are_used_as_the_loader_made_them() -> None:
    module, batch = _module(TrainConfig())
    assert module.transfer_batch_to_device(batch, torch.device("cpu"), 0) is batch


def test_an_epochs_averages_are_weighted_means_and_nan_for_what_was_never_added() -> None:
    from automl_rnn.models.guard import Totals

    totals = Totals()
    assert math.isnan(totals.mean("train_loss"))  # nothing added: no average, not an error
    totals.add("train_loss", 4.0, 0.5)  # weights are row counts, any positive number
    assert totals.mean("train_loss") == 4.0
    totals.add("train_loss", 1.0, 1.5)
    assert totals.mean("train_loss") == pytest.approx((4.0 * 0.5 + 1.0 * 1.5) / 2.0)


def test_a_non_finite_gradient_norm_is_named_and_grad_max_restarts_each_epoch() -> None:
    guard = StepGuard(max_grad_norm=1e3)
    guard.record(torch.tensor(0.5), torch.tensor(0.25), rows=8)
    guard.record(torch.tensor(0.5), torch.tensor(0.75), rows=8)
    guard.flush()
    assert guard.grad_max == 0.75
    guard.new_epoch()
    assert guard.grad_max == 0.0  # an epoch of small norms reports its own largest
    guard.record(torch.tensor(0.5), torch.tensor(0.125), rows=8)
    guard.flush()
    assert guard.grad_max == 0.125
    guard.new_epoch()
    guard.record(torch.tensor(1.0), torch.tensor(0.5), rows=8)
    guard.record(torch.tensor(0.0), torch.tensor(0.5), rows=2)  # a short last batch
    guard.flush()
    assert guard.totals.mean(M.TRAIN_LOSS) == pytest.approx(0.8)  # weighted by rows
    guard.record(torch.tensor(0.5), torch.tensor(math.inf), rows=8)
    with pytest.raises(DivergedError) as caught:
        guard.flush()
    assert caught.value.reason == "diverged: non-finite gradient norm"
