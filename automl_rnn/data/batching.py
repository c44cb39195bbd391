"""Torch datasets that hand out whole batches: tensors stay whole, ``__getitems__`` slices them.

Imported only when loaders are built (it imports torch). torch's fetcher calls ``__getitems__``
with a batch's indices; the loaders' ``collate_fn`` then passes the dict through unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, cast

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def _passthrough(batch: Any) -> Any:
    """The dataset already returned the whole batch dict: nothing to collate."""
    return batch


class TensorBatches(Dataset[dict[str, torch.Tensor]]):
    """Rows of whole tensors (all with the same first dimension), served a batch at a time.

    With ``one_hot > 0``, ``x`` holds token ids (0 = padding, 1..one_hot = tokens) and leaves as
    one-hot float32 ``[B, T, one_hot]`` (padding → zero vectors). When ``lengths`` is present the
    batch is trimmed to its longest row.
    """

    #: Per-step targets ``y [N, T]`` are cut with ``x`` to the batch's longest row.
    trim_targets = False

    def __init__(self, tensors: dict[str, torch.Tensor], one_hot: int = 0) -> None:
        self.tensors = tensors
        self.one_hot = one_hot
        # Row 0 (padding) is all zeros, row i the one-hot vector of token i.
        self.table = torch.eye(one_hot + 1)[:, 1:].contiguous() if one_hot else None
        self.size = len(next(iter(tensors.values())))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        # index_select, not value[rows]: advanced indexing is far slower on numpy-backed tensors.
        rows = torch.as_tensor(indices, dtype=torch.long)
        batch = {key: value.index_select(0, rows) for key, value in self.tensors.items()}
        if "lengths" in batch:
            longest = int(batch["lengths"].max())
            batch["x"] = batch["x"][:, :longest].contiguous()
            if self.trim_targets:
                batch["y"] = batch["y"][:, :longest].contiguous()
        if self.table is not None:
            ids = batch["x"]  # [B, T]
            flat = self.table.index_select(0, ids.reshape(-1))  # [B * T, V]
            batch["x"] = flat.reshape(*ids.shape, self.one_hot)  # [B, T, V]
        return batch


class SeqForecastBatches(TensorBatches):
    """Forecast windows for seq2seq: ``y[b, t]`` is the horizon after input step ``t``.

    Built per batch from the whole target series (``[N_total, D]``, original units) and each
    window's ``start`` (index of its first target), scaled with the window's ``loc``/``scale``.
    """

    def __init__(
        self, tensors: dict[str, torch.Tensor], targets: torch.Tensor, seq_len: int, horizon: int
    ) -> None:
        super().__init__(tensors)
        self.targets = targets
        steps = torch.arange(seq_len) - seq_len + 1
        self.offsets = steps[:, None] + torch.arange(horizon)[None, :]  # [T, L]

    def __getitems__(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        batch = super().__getitems__(indices)
        start = batch.pop("start")  # [B]
        index = start[:, None, None] + self.offsets[None]  # [B, T, L]
        y = self.targets.index_select(0, index.reshape(-1))  # [B * T * L, D]
        y = y.reshape(*index.shape, -1)  # [B, T, L, D]
        y = (y - batch["loc"][:, :, None, :]) / batch["scale"][:, :, None, :]
        batch["y"] = y.reshape(y.shape[0], y.shape[1], -1)  # [B, T, L * D]
        return batch


class ShuffledBatches(Sampler[torch.Tensor]):
    """Each epoch, a seeded permutation of ``size`` rows cut into batches of index tensors: the
    batches torch's ``RandomSampler`` with a ``BatchSampler`` gives from the same generator,
    without a Python int per row (a large panel has millions of windows)."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        self.size, self.batch_size = size, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.size, generator=self.generator)
        torch.randperm(self.size, generator=self.generator)  # RandomSampler draws twice an epoch
        yield from order.split(self.batch_size)


def shuffled_loader(dataset: TensorBatches, batch_size: int, seed: int) -> DataLoader[Any]:
    """A loader over ``dataset`` in seeded random batches; no workers, no collation."""
    # torch's stubs ask for lists of ints; its fetcher hands any batch on to ``__getitems__``
    batches = cast("Sampler[list[Any]]", ShuffledBatches(len(dataset), batch_size, seed))
    return DataLoader(dataset, batch_sampler=batches, collate_fn=_passthrough, num_workers=0)


def shuffle_of(loader: DataLoader[Any]) -> torch.Generator | None:
    """The generator that shuffles ``loader`` (snapshots keep its state), None when unshuffled."""
    batches = loader.batch_sampler
    return batches.generator if isinstance(batches, ShuffledBatches) else loader.generator


def make_loaders(
    datasets: dict[str, TensorBatches], batch_size: int, seed: int
) -> dict[str, DataLoader[Any]]:
    """A loader per split: ``train`` shuffled with a seeded generator; no workers, no collation."""
    loaders: dict[str, DataLoader[Any]] = {}
    for split, dataset in datasets.items():
        if split == "train":
            loaders[split] = shuffled_loader(dataset, batch_size, seed)
        else:
            loaders[split] = DataLoader(
                dataset, batch_size=batch_size, collate_fn=_passthrough, num_workers=0
            )
    return loaders


class WindowSource(Protocol):
    """Data that gathers scaled windows by their first target's row (:class:`PanelData`)."""

    def gather(self, starts: np.ndarray, seq_len: int, per_step: bool = False) -> dict[str, Any]:
        """Contract arrays ``x, y, loc, scale`` of the windows that start at ``starts``."""
        ...


class PanelBatches(TensorBatches):
    """Windows held as indices (their first target's row), gathered and scaled a batch at a time:
    memory grows with the batch, not with ``seq_len`` × windows."""

    def __init__(
        self, source: WindowSource, starts: np.ndarray, seq_len: int, per_step: bool
    ) -> None:
        # the one tensor: ``train_and_val`` merges two sets of windows by concatenating it
        super().__init__({"start": torch.from_numpy(np.ascontiguousarray(starts))})
        self.source, self.seq_len, self.per_step = source, seq_len, per_step

    def __getitems__(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        starts = self.tensors["start"].numpy()[np.asarray(indices, dtype=np.int64)]
        arrays = self.source.gather(starts, self.seq_len, self.per_step)
        batch = {key: torch.from_numpy(value) for key, value in arrays.items()}
        if self.per_step:  # [B, T, L] -> the contract's [B, T, L * D] with D = 1
            batch["y"] = batch["y"].reshape(batch["y"].shape[0], batch["y"].shape[1], -1)
        return batch
