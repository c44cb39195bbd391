"""Tiny seeded synthetic problems, one per topology, for the model tests."""

from __future__ import annotations

import torch
from torch import Tensor

from automl_rnn.data.contract import DataShape

Batch = dict[str, Tensor]


def problem(topology: str, n: int = 256, steps: int = 12, seed: int = 0) -> tuple[DataShape, Batch]:
    """A learnable task for ``topology`` with contract-shaped tensors."""
    g = torch.Generator().manual_seed(seed)
    if topology == "seq2seq":  # echo the input two steps late: y_t = x_{t-2}
        x = torch.randn(n, steps, 1, generator=g)
        y = torch.cat([torch.zeros(n, 2, 1), x[:, :-2]], dim=1)
        return DataShape("regression", 1, 1, 1), {"x": x, "y": y}
    if topology == "seq2vec":  # the mean and the last value of the sequence
        x = torch.randn(n, steps, 1, generator=g)
        y = torch.stack([x.mean(dim=1), x[:, -1]], dim=1)  # [n, 2, 1]
        return DataShape("regression", 1, 1, 2), {"x": x, "y": y}
    if topology == "vec2seq":  # a class one-hot -> that class's fixed token sequence
        labels = torch.randint(0, 4, (n,), generator=g)
        x = torch.nn.functional.one_hot(labels, 4).float()
        table = torch.tensor([[1, 2, 3, 0], [2, 2, 1, 0], [3, 1, 1, 3], [1, 3, 0, 0]])
        return DataShape("tokens", 4, 4, 4), {"x": x, "y": table[labels]}
    if topology == "encoder_decoder":  # a sine's next three values from its last eight
        phase = torch.rand(n, 1, generator=g) * 6.28
        t = torch.arange(steps + 3).float() * 0.5
        wave = torch.sin(t + phase).unsqueeze(-1)  # [n, T + 3, 1]
        return DataShape("regression", 1, 1, 3), {"x": wave[:, :steps], "y": wave[:, steps:]}
    raise ValueError(topology)


def variable_lengths(batch: Batch, lengths: Tensor) -> Batch:
    """Zero the padding beyond each row's length and attach ``lengths``."""
    x = batch["x"].clone()
    steps = torch.arange(x.shape[1]).unsqueeze(0)
    x[steps >= lengths.unsqueeze(1)] = 0.0
    return {**batch, "x": x, "lengths": lengths}


def batches(batch: Batch, size: int = 32) -> list[Batch]:
    """Split a whole-data batch into mini-batches."""
    n = batch["x"].shape[0]
    return [{k: v[i : i + size] for k, v in batch.items()} for i in range(0, n, size)]


def fit(module: object, batch: Batch, epochs: int, seed: int = 0) -> list[float]:
    """Train ``module`` with a real Lightning Trainer on CPU; return train_loss per epoch."""
    import pytorch_lightning as pl

    from automl_rnn import metric_names as M
    from automl_rnn.models.module import RecurrentModule

    assert isinstance(module, RecurrentModule)
    pl.seed_everything(seed, verbose=False)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )
    from torch.utils.data import DataLoader

    loader = DataLoader(batches(batch), batch_size=None)  # type: ignore[arg-type]
    trainer.fit(module, train_dataloaders=loader)  # type: ignore[arg-type]
    return [epoch[M.TRAIN_LOSS] for epoch in module.history]
