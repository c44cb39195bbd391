"""What one training epoch reads: the shuffled training loader, repeated up to a sample budget,
and (a refit) the training rows joined by the validation rows."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sized
from typing import Any, cast

import torch
from torch.utils.data import DataLoader

from automl_rnn.data.batching import TensorBatches, shuffled_loader
from automl_rnn.data.prepared import Loaders
from automl_rnn.models.topologies import Batch


class EpochLoader:
    """Repeats a (shuffling) training loader so one epoch sees at least ``min_samples`` samples.

    Tiny series (AirPassengers has ~70 training windows) would otherwise give a handful of
    optimiser steps per epoch, and any epoch budget would stop training long before convergence.
    """

    def __init__(self, loader: DataLoader[Any], min_samples: int) -> None:
        self.loader = loader
        dataset = loader.dataset
        samples = len(dataset) if isinstance(dataset, Sized) else 0
        self.repeats = max(1, math.ceil(min_samples / samples)) if samples else 1

    def __len__(self) -> int:
        return len(self.loader) * self.repeats

    def __iter__(self) -> Iterator[Batch]:
        for _ in range(self.repeats):
            yield from self.loader


def train_and_val(loaders: Loaders, batch_size: int, seed: int) -> DataLoader[Any]:
    """A shuffled (seeded) loader over the training rows followed by the validation rows.

    Both datasets share one tensor layout (the same windows, scaling and topology), so the merged
    dataset is a copy of the training one holding both sets of rows; the test rows stay apart.
    """
    train = cast(TensorBatches, loaders.train.dataset)
    extra = cast(TensorBatches, loaders.val.dataset)
    merged = copy.copy(train)
    merged.tensors = {k: torch.cat([v, extra.tensors[k]]) for k, v in train.tensors.items()}
    merged.size = len(train) + len(extra)
    return shuffled_loader(merged, batch_size, seed)
