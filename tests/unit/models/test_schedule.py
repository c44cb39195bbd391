"""Learning-rate schedules: cosine decay spans the search's epoch budget, also in a shorter refit;
plateau decay acts without a validation part too (a refit)."""

from __future__ import annotations

import math

import pytest
import torch

from automl_rnn import metric_names as M
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig
from tests.unit.models.problems import fit, problem


def _learning_rates(config: TrainConfig, epochs: int) -> list[float]:
    torch.manual_seed(0)
    shape, batch = problem("seq2vec", n=32)
    net = build_network(ArchConfig(cell="gru", topology="seq2vec", hidden_size=4), shape)
    module = RecurrentModule(net, shape, config)
    fit(module, batch, epochs=epochs)
    return [epoch[M.LEARNING_RATE] for epoch in module.history]


@pytest.mark.parametrize(("span", "epochs"), [(None, 4), (40, 4)])
def test_cosine_decay_spans_the_given_budget(span: int | None, epochs: int) -> None:
    lr = 0.01
    config = TrainConfig(lr=lr, lr_schedule="cosine", schedule_epochs=span)
    seen = _learning_rates(config, epochs)
    total = span or epochs
    # The rate each epoch trained with: epoch e runs at lr * (1 + cos(pi * e / total)) / 2.
    expected = [lr * (1 + math.cos(math.pi * e / total)) / 2 for e in range(epochs)]
    assert seen == pytest.approx(expected, rel=1e-6)


def test_plateau_decay_watches_the_training_loss_when_there_is_no_validation() -> None:
    # A rate too small to move the loss (but above the scheduler's eps of 1e-8): the loss stops
    # improving at once, and after `patience` (2) epochs without improvement the rate is halved.
    # `fit` trains without validation, as a refit does.
    lr = 1e-6
    seen = _learning_rates(TrainConfig(lr=lr, lr_schedule="plateau"), epochs=5)
    assert seen[:4] == pytest.approx([lr] * 4, rel=1e-6, abs=0)
    assert seen[4] == pytest.approx(lr / 2, rel=1e-6, abs=0)
