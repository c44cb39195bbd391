"""One LightningModule trains every network: loss and metrics by output kind, optimiser, schedule,
gradient clipping, truncated BPTT (manual optimisation, one step per chunk) and the divergence guard.

Per epoch it logs the names in :mod:`automl_rnn.metric_names`. Values are accumulated as Python
floats from the one host sync per optimiser step that the divergence guard needs anyway.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from automl_rnn import metric_names as M
from automl_rnn.data.contract import IGNORE_INDEX, DataShape
from automl_rnn.models.topologies import Batch, Chunk, Seq2Seq

_FLOAT_LOSSES: dict[str, Callable[..., Tensor]] = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
}


class DivergedError(RuntimeError):
    """Training diverged; ``reason`` reads ``diverged: non-finite loss`` or ``diverged: gradient
    norm 3.1e+07``. Raised before the optimiser step, so the weights stay as they were."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation hyperparameters of one fit."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    lr_schedule: str = "none"  # none | cosine | plateau
    schedule_epochs: int | None = None
    """Epochs the cosine schedule spans (None: the Trainer's max_epochs). A refit that trains
    only up to the trial's best epoch keeps the trial's learning rates by giving its budget."""
    grad_clip: float | None = 1.0
    tbptt_steps: int | None = None
    teacher_forcing: float = 0.5
    loss: str = "mse"  # float targets: mse | mae | huber
    max_grad_norm: float = 1e5
    """Divergence bound: a pre-clip gradient norm above it stops the fit."""


class _Totals:
    """Weighted sums for one epoch's averages."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, float] = {}

    def add(self, name: str, value: float, weight: float = 1.0) -> None:
        self.sums[name] = self.sums.get(name, 0.0) + value * weight
        self.counts[name] = self.counts.get(name, 0.0) + weight

    def mean(self, name: str) -> float:
        return self.sums.get(name, math.nan) / max(self.counts.get(name, 0.0), 1e-12)


EpochListener = Callable[["RecurrentModule", dict[str, float]], None]


class RecurrentModule(pl.LightningModule):
    """Trains ``net`` (any topology from :mod:`automl_rnn.models.topologies`) on contract batches.

    After each epoch's training and validation it appends that epoch's metrics to ``history`` and
    calls each ``listener(module, metrics)`` (Lightning calls callbacks' ``on_train_epoch_end``
    before the module's, so a callback would see the previous epoch; listeners see this one). A
    listener may stop the fit with ``module.trainer.should_stop = True``.
    """

    def __init__(
        self,
        net: nn.Module,
        shape: DataShape,
        config: TrainConfig,
        listeners: Sequence[EpochListener] = (),
    ) -> None:
        super().__init__()
        self.net = net
        self.shape = shape
        self.config = config
        self.listeners = list(listeners)
        self.history: list[dict[str, float]] = []
        self._val_metrics: dict[str, float] = {}
        self.automatic_optimization = False
        self._per_step = isinstance(net, Seq2Seq)
        self._train = _Totals()
        self._samples = 0
        self._val = _Totals()
        self._grad_max = 0.0
        self._train_seconds = 0.0
        self._batch_started = 0.0
        self._epoch_started = 0.0

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.net(x, lengths)  # type: ignore[no-any-return]

    # ---- losses and metrics ------------------------------------------------------------------
    def chunk_loss(self, chunk: Chunk) -> Tensor:
        """Loss of one chunk: masked float loss, or cross-entropy over classes/tokens."""
        pred, target = chunk.pred, chunk.target
        if not self.shape.is_float_target:
            if chunk.mask is not None:
                target = target.masked_fill(~chunk.mask, IGNORE_INDEX)
            return F.cross_entropy(
                pred.reshape(-1, pred.shape[-1]), target.reshape(-1), ignore_index=IGNORE_INDEX
            )
        kind = _FLOAT_LOSSES[self.config.loss]
        if chunk.mask is None:
            return kind(pred, target)
        per_value = kind(pred, target, reduction="none")  # [B, T, O]
        weights = chunk.mask.unsqueeze(-1).to(per_value.dtype).expand_as(per_value)
        return (per_value * weights).sum() / weights.sum().clamp(min=1.0)

    def final_forecast(self, pred: Tensor, batch: Batch) -> Tensor:
        """The forecast that counts, in scaled units ``[B, L, D]`` (seq2seq: last valid step)."""
        if self._per_step:
            lengths = batch.get("lengths")
            last = (
                lengths - 1
                if lengths is not None
                else torch.full((pred.shape[0],), pred.shape[1] - 1, device=pred.device)
            )
            picked = pred[torch.arange(pred.shape[0], device=pred.device), last]  # [B, L * D]
            return picked.view(-1, self.shape.output_len, self.shape.output_size)  # [B, L, D]
        return pred

    def to_original_units(self, values: Tensor, batch: Batch) -> Tensor:
        """Scaled ``[B, L, D]`` values back to the data's units with the batch's loc/scale."""
        if "scale" not in batch:
            return values
        return values * batch["scale"] + batch["loc"]

    # ---- training ----------------------------------------------------------------------------
    def training_step(self, batch: Batch, batch_idx: int) -> None:
        optimizer = self.optimizers()
        rows = batch["x"].shape[0]
        for chunk in self.net.train_chunks(  # type: ignore[operator]
            batch, self.config.tbptt_steps, self.config.teacher_forcing
        ):
            loss = self.chunk_loss(chunk)
            optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
            self.manual_backward(loss)
            norm = self._clip_gradients()
            loss_value, norm_value = torch.stack([loss.detach(), norm]).tolist()  # one host sync
            self._guard(loss_value, norm_value)
            optimizer.step()  # type: ignore[union-attr]
            self._train.add(M.TRAIN_LOSS, loss_value, rows)
            self._train.add(M.GRAD_NORM, norm_value)
            self._grad_max = max(self._grad_max, norm_value)
        self._samples += rows

    def _clip_gradients(self) -> Tensor:
        params = [p for p in self.parameters() if p.grad is not None]
        if not params:
            return torch.zeros((), device=self.device)
        clip = self.config.grad_clip if self.config.grad_clip is not None else math.inf
        return torch.nn.utils.clip_grad_norm_(params, clip).detach().to(self.device)

    def _guard(self, loss_value: float, norm_value: float) -> None:
        if not math.isfinite(loss_value):
            raise DivergedError("diverged: non-finite loss")
        if not math.isfinite(norm_value):
            raise DivergedError("diverged: non-finite gradient norm")
        if norm_value > self.config.max_grad_norm:
            raise DivergedError(f"diverged: gradient norm {norm_value:.1e}")

    # ---- validation --------------------------------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        pred = self.net(batch["x"], batch.get("lengths"))
        rows = float(batch["x"].shape[0])
        if self.shape.is_float_target:
            final = self.final_forecast(pred, batch)
            target = self.final_forecast(batch["y"], batch)
            loss = self.chunk_loss(Chunk(final, target))
            error = self.to_original_units(final, batch) - self.to_original_units(target, batch)
            metric = error.abs().mean()
            values = torch.stack([loss, metric]).tolist()
            self._val.add(M.VAL_LOSS, values[0], rows)
            self._val.add(M.VAL_METRIC, values[1], rows)
            return
        target = batch["y"]
        mask = None
        if self._per_step and "lengths" in batch:
            steps = torch.arange(pred.shape[1], device=pred.device).unsqueeze(0)
            mask = steps < batch["lengths"].unsqueeze(1)
            target = target.masked_fill(~mask, IGNORE_INDEX)
        loss = self.chunk_loss(Chunk(pred, target))
        scored = target != IGNORE_INDEX
        correct = (pred.argmax(dim=-1) == target) & scored
        n_scored = scored.sum()
        stats = [loss, correct.sum().float(), n_scored.float()]
        if pred.dim() == 3:
            stats.append((correct | ~scored).all(dim=1).float().sum())
        values = torch.stack(stats).tolist()
        self._val.add(M.VAL_LOSS, values[0], rows)
        self._val.sums[M.VAL_METRIC] = self._val.sums.get(M.VAL_METRIC, 0.0) + values[1]
        self._val.counts[M.VAL_METRIC] = self._val.counts.get(M.VAL_METRIC, 0.0) + values[2]
        if len(values) > 3:
            self._val.add(M.VAL_EXACT, values[3] / rows, rows)

    # ---- per-epoch bookkeeping ---------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        self._train = _Totals()
        self._samples = 0
        self._grad_max = 0.0
        self._train_seconds = 0.0
        self._epoch_started = time.perf_counter()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._batch_started = time.perf_counter()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._train_seconds += time.perf_counter() - self._batch_started

    def on_validation_epoch_start(self) -> None:
        self._val = _Totals()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self._val_metrics = {
            name: self._val.mean(name)
            for name in (M.VAL_LOSS, M.VAL_METRIC, M.VAL_EXACT)
            if name in self._val.sums
        }
        for name, value in self._val_metrics.items():
            self.log(name, value, on_epoch=True, prog_bar=name == M.VAL_LOSS)

    def on_train_epoch_end(self) -> None:
        optimizer = self.optimizers()
        metrics = {
            M.TRAIN_LOSS: self._train.mean(M.TRAIN_LOSS),
            M.GRAD_NORM: self._train.mean(M.GRAD_NORM),
            M.GRAD_NORM_MAX: self._grad_max,
            M.EPOCH_SECONDS: time.perf_counter() - self._epoch_started,
            M.SAMPLES_PER_SECOND: self._samples / max(self._train_seconds, 1e-9),
            M.LEARNING_RATE: float(optimizer.param_groups[0]["lr"]),  # type: ignore[union-attr]
        }
        for name, value in metrics.items():
            self.log(name, value, on_epoch=True)
        metrics.update(self._val_metrics)
        self._val_metrics = {}
        self.history.append(metrics)
        self._step_schedule(metrics)
        for listener in self.listeners:
            listener(self, metrics)

    def _step_schedule(self, metrics: dict[str, float]) -> None:
        scheduler = self.lr_schedulers()
        if scheduler is None:
            return
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            # The epoch's validation loss; a refit has no validation part and watches its
            # training loss.
            monitored = metrics.get(M.VAL_LOSS, metrics.get(M.TRAIN_LOSS))
            if monitored is not None and math.isfinite(monitored):
                scheduler.step(float(monitored))
        else:
            scheduler.step()  # type: ignore[union-attr]

    def configure_optimizers(self) -> Any:
        cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[self.config.optimizer]
        optimizer = cls(self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)
        if self.config.lr_schedule == "cosine":
            epochs = max(int(self.config.schedule_epochs or self.trainer.max_epochs or 1), 1)
            scheduler: Any = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        elif self.config.lr_schedule == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=0.5, patience=2
            )
        else:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
