"""A fit's state after an epoch, so a trial moved off a lost node (or cut short by a driver
restart) continues where it was instead of starting over.

An :class:`EpochSnapshot` holds what the next epoch depends on: the network, the optimiser and
its learning-rate schedule, the epochs' metrics, every random generator (torch, CUDA, Python,
NumPy and the training loader's shuffling) and the best epoch so far with its weights. A fit
resumed from it trains the remaining epochs exactly as the uninterrupted fit would have (on the
CPU, bit for bit; on a GPU up to its kernels' own nondeterminism). Saved as plain tensors and
containers, loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import Tensor

from automl_rnn.models.averaging import cpu_copy
from automl_rnn.models.module import RecurrentModule

#: Format version written with every snapshot; a snapshot of another version is not resumed.
VERSION = 1


@dataclass
class EpochSnapshot:
    """Everything a fit needs to continue after ``len(history)`` epochs (see the module)."""

    net: dict[str, Tensor]
    optimizer: dict[str, object]
    scheduler: dict[str, object] | None
    history: list[dict[str, float]]
    rng: dict[str, object]
    best_epoch: int = -1
    """0-based index of the best epoch so far (-1: none had a finite objective)."""
    best_state: dict[str, Tensor] | None = None
    average: dict[str, Tensor] | None = None
    """The weights' moving average (``ema_decay`` set), by parameter name."""
    average_steps: int = 0
    """Optimiser steps folded into ``average``."""
    version: int = field(default=VERSION)

    @property
    def epochs(self) -> int:
        """Epochs trained."""
        return len(self.history)


def take(
    module: RecurrentModule,
    best_epoch: int,
    best_state: dict[str, Tensor] | None,
) -> EpochSnapshot:
    """The state of ``module``'s fit at the end of its latest epoch (copies, on the CPU)."""
    wrapped = module.optimizers()
    optimizer = getattr(wrapped, "optimizer", wrapped)
    scheduler = module.lr_schedulers()
    return EpochSnapshot(
        net=cpu_copy(module.net.state_dict()),
        optimizer=_on_cpu(optimizer.state_dict()),  # type: ignore[union-attr]
        scheduler=None if scheduler is None else dict(scheduler.state_dict()),  # type: ignore[union-attr]
        history=[dict(epoch) for epoch in module.history],
        rng=rng_state(module.shuffle),
        best_epoch=best_epoch,
        best_state=best_state,
        average=None if module.average is None else module.average.state(),
        average_steps=0 if module.average is None else module.average.steps,
    )


def rng_state(shuffle: torch.Generator | None) -> dict[str, object]:
    """Every generator a fit draws from, as tensors and plain containers."""
    numpy_state = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
    state: dict[str, object] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if shuffle is not None:
        state["shuffle"] = shuffle.get_state()
    return state


def continue_from(snapshot: EpochSnapshot, module: RecurrentModule) -> None:
    """Put ``snapshot`` into a freshly built ``module`` (its weights, epochs' metrics, random
    generators; the optimiser and schedule load when training starts)."""
    module.net.load_state_dict(snapshot.net)
    module.history = [dict(epoch) for epoch in snapshot.history]
    module.resume_states = (snapshot.optimizer, snapshot.scheduler)
    if snapshot.average is not None:
        module.resume_average = (snapshot.average, snapshot.average_steps)
    restore_rng(snapshot.rng, module.shuffle)


def restore_rng(state: dict[str, object], shuffle: torch.Generator | None) -> None:
    """Put back the generators :func:`rng_state` saved."""
    torch_state = state["torch"]
    assert isinstance(torch_state, Tensor)
    torch.set_rng_state(torch_state)
    python_state = state["python"]
    assert isinstance(python_state, tuple)
    random.setstate(python_state)
    numpy_state = state["numpy"]
    assert isinstance(numpy_state, list)
    name, keys, *rest = numpy_state
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))
    cuda = state.get("cuda")
    if isinstance(cuda, list) and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    saved_shuffle = state.get("shuffle")
    if shuffle is not None and isinstance(saved_shuffle, Tensor):
        shuffle.set_state(saved_shuffle)


def save(snapshot: EpochSnapshot, path: Path) -> None:
    """Write ``snapshot`` to ``path`` (atomically: a reader never sees half a file)."""
    partial = path.with_name(path.name + ".partial")
    torch.save(asdict(snapshot), partial)
    partial.replace(path)


def load(path: Path) -> EpochSnapshot | None:
    """The snapshot at ``path``; None when it is missing, unreadable or of another version
    (the trial then starts over, which is always correct, only slower)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        snapshot = EpochSnapshot(**payload)
    except (OSError, RuntimeError, TypeError, EOFError, ValueError):
        return None
    return snapshot if snapshot.version == VERSION else None


def _on_cpu(state: dict[str, object]) -> dict[str, object]:
    """An optimiser's state dict with its tensors copied to the CPU."""

    def move(value: object) -> object:
        if isinstance(value, Tensor):
            return value.detach().to("cpu", copy=True)
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    moved = move(state)
    assert isinstance(moved, dict)
    return moved
