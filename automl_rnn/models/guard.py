"""The divergence guard of every optimiser step, read by the host once per :data:`GUARD_EVERY` steps.

A trial must stop before a diverged step (non-finite loss, non-finite or exploding gradient norm)
changes its weights, without a host sync per step: on an accelerator a sync per step would stall
the device while Python prepares the next one. See :class:`StepGuard` for why it is exact.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from automl_rnn import metric_names as M

#: Optimiser steps between two host reads of the divergence guard's per-step values.
GUARD_EVERY = 32


class DivergedError(RuntimeError):
    """Training diverged; ``reason`` reads ``diverged: non-finite loss`` or ``diverged: gradient
    norm 3.1e+07``. The weights are those the first bad step started from (it changed nothing)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Totals:
    """Weighted sums for one epoch's averages."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, float] = {}

    def add(self, name: str, value: float, weight: float = 1.0) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + value * weight
        self.counts[name] = self.counts.get(name, 0.0) + weight

    def mean(self, name: str) -> float:
        return self.sums.get(name, math.nan) / max(self.counts.get(name, 0.0), 1e-12)


class StepGuard:
    """The divergence guard, with one host read per :data:`GUARD_EVERY` optimiser steps.

    ``record`` keeps a step's detached loss and pre-clip gradient norm on the device and folds
    "this step is bad" (loss or norm not finite, or norm above the bound) into ``found``, a 0/1
    flag that never clears. A fused Adam/AdamW reads ``found`` as its ``found_inf`` (as under AMP's
    GradScaler) and, while it is 1, leaves the weights and its own state (moments, step count)
    exactly as they were: from the first bad step on, no step changes anything. ``flush`` reads
    the pending steps in one host sync and raises :class:`DivergedError` for the first bad one, so
    the weights are still those that step started from; else it adds them to the epoch's sums.
    The device test ``|loss| <= finfo.max and |norm| <= bound`` (the bound rounded to the values'
    dtype, as the host compares it too) is exactly the negation of the host test, so the two
    always agree. Without a fused optimiser the module flushes before every step instead (one
    sync per step, raising before the bad step).
    """

    def __init__(self, max_grad_norm: float) -> None:
        self.max_grad_norm = max_grad_norm
        self.bound = math.inf  # max_grad_norm in the norm's dtype (set with ``limits``)
        self.limits: Tensor | None = None
        self.found: Tensor | None = None
        self.pending: list[tuple[Tensor, int]] = []
        self.totals = Totals()
        self.grad_max = 0.0

    def reset(self) -> None:
        """A new fit: no pending steps, the flag cleared."""
        self.limits = self.found = None
        self.pending.clear()

    def record(self, loss: Tensor, norm: Tensor, rows: int) -> Tensor:
        """Keep one step's values; return the (sticky) device flag "a bad step happened"."""
        stats = torch.stack([loss.detach(), norm.to(loss.device, loss.dtype)])
        if self.limits is None or self.found is None or self.limits.device != stats.device:
            top = torch.finfo(stats.dtype).max
            self.limits = stats.new_tensor([top, min(self.max_grad_norm, top)])
            self.bound = float(self.limits[1])
            self.found = torch.zeros((), dtype=torch.float32, device=stats.device)  # as found_inf
        self.found = torch.where((stats.abs() <= self.limits).all(), self.found, 1.0)
        self.pending.append((stats, rows))
        return self.found

    def flush(self) -> None:
        """Check and sum the pending steps (one host sync); raise for the first bad one."""
        if not self.pending:
            return
        values = torch.stack([stats for stats, _ in self.pending]).tolist()
        rows = [n for _, n in self.pending]
        self.pending.clear()
        for (loss, norm), n in zip(values, rows, strict=True):
            if not math.isfinite(loss):
                raise DivergedError("diverged: non-finite loss")
            if not math.isfinite(norm):
                raise DivergedError("diverged: non-finite gradient norm")
            if norm > self.bound:
                raise DivergedError(f"diverged: gradient norm {norm:.1e}")
            self.totals.add(M.TRAIN_LOSS, loss, n)
            self.totals.add(M.GRAD_NORM, norm)
            self.grad_max = max(self.grad_max, norm)

    def new_epoch(self) -> None:
        self.pending.clear()
        self.totals = Totals()
        self.grad_max = 0.0
