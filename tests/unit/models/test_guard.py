"""The divergence guard: a planted NaN or gradient explosion raises before the weights change."""

from __future__ import annotations

import pytest
import torch

from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import DivergedError, RecurrentModule, TrainConfig
from tests.unit.models.problems import fit, problem


def _module(config: TrainConfig) -> tuple[RecurrentModule, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    shape, batch = problem("seq2vec", n=64)
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
