"""One LightningModule trains every network: loss and metrics by output kind, optimiser, schedule,
gradient clipping, truncated BPTT (manual optimisation, one step per chunk) and the divergence guard.

Per epoch it logs the names in :mod:`automl_rnn.metric_names`, summed as Python floats from
per-step values that stay on the device until a host read every :data:`GUARD_EVERY` optimiser
steps (training) or once per epoch (validation): an accelerator is never stalled per step.
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
from pytorch_lightning.plugins.precision import Precision
from pytorch_lightning.strategies import SingleDeviceStrategy
from torch import Tensor, nn

from automl_rnn import metric_names as M
from automl_rnn.data.contract import IGNORE_INDEX, DataShape
from automl_rnn.models.averaging import WeightAverage, cpu_copy
from automl_rnn.models.cells import step_mask
from automl_rnn.models.guard import GUARD_EVERY, DivergedError, StepGuard, Totals
from automl_rnn.models.topologies import Batch, Chunk, Seq2Seq

__all__ = ["DivergedError", "EpochListener", "RecurrentModule", "TrainConfig"]

_FLOAT_LOSSES: dict[str, Callable[..., Tensor]] = {
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
}


#: Devices with fused Adam/AdamW kernels (they skip a step on a device-side flag).
_FUSED_DEVICES = frozenset({"cpu", "cuda", "mps", "xpu"})

#: Plain attributes set every step: Lightning sets ``_current_fx_name`` around each hook call
#: (about 20 a step), the module its clock and counts; none is a tensor, module or parameter,
#: so they skip nn.Module's registry checks (several microseconds each).
_PLAIN_ATTRIBUTES = frozenset({"_current_fx_name", "_samples", "_batch_started", "_train_seconds"})


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
    ema_decay: float | None = None
    """Keep an exponential moving average of the weights (per optimiser step): validation
    scores it and it is the model kept (:mod:`automl_rnn.models.averaging`). None: off."""


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
        self._guard = StepGuard(config.max_grad_norm)
        self._params: list[nn.Parameter] = []
        self._optimizer: torch.optim.Optimizer | None = None
        self._plain = False  # 32-bit, one device: torch's backward and step, no wrappers
        self._step: Callable[[], object] = lambda: None
        self._skips = False  # the optimiser skips a step on the guard's device-side flag
        self._samples = 0
        self._val = Totals()
        self._val_pending: list[tuple[Tensor, float]] = []
        self._train_seconds = 0.0
        self._batch_started = 0.0
        self._epoch_started = 0.0
        self.shuffle: torch.Generator | None = None
        """The training loader's shuffling generator (saved with a fit's epoch snapshots)."""
        self.resume_states: tuple[dict[str, Any], dict[str, Any] | None] | None = None
        """Optimiser and schedule states to continue from (a resumed fit), loaded at train start."""
        self.average: WeightAverage | None = None
        """The weights' moving average (``config.ema_decay``), built at train start."""
        self.resume_average: tuple[dict[str, Tensor], int] | None = None
        """A resumed fit's average and its step count, taken up at train start."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _PLAIN_ATTRIBUTES:
            self.__dict__[name] = value
        else:
            super().__setattr__(name, value)  # type: ignore[arg-type]

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
        """The forecast that counts, in scaled units ``[B, L, D]`` (seq2seq: last valid step;
        per-step regression: every step, ``[B, T, D]``)."""
        if self._per_step and not self.shape.per_step_target:
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
    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """A contract batch (a dict of tensors) without Lightning's generic walk: on the CPU as
        the loader made it, else each tensor copied over (non-blocking on CUDA, as Lightning)."""
        if not isinstance(batch, dict):
            return super().transfer_batch_to_device(batch, device, dataloader_idx)
        if device.type == "cpu":
            return batch
        non_blocking = device.type == "cuda"
        return {k: v.to(device, non_blocking=non_blocking) for k, v in batch.items()}

    def on_train_start(self) -> None:
        self._guard.reset()
        self._params = [p for p in self.parameters() if p.requires_grad]
        wrapped = self.optimizers()
        raw = getattr(wrapped, "optimizer", wrapped)
        assert isinstance(raw, torch.optim.Optimizer)
        self._optimizer = raw
        if self.resume_states is not None:
            self._load_resume_states(raw)
        if self.config.ema_decay is not None:
            state, steps = self.resume_average or (None, 0)
            self.average = WeightAverage(self.net, self.config.ema_decay, state, steps)
            self.resume_average = None
        # 32-bit on one device: Lightning's backward and step wrappers add only hooks (unused
        # here) and step counters (no max_steps), so the step calls torch directly. Otherwise
        # (mixed precision's loss scaling, several devices) it goes through them.
        self._plain = type(self.trainer.precision_plugin) is Precision and isinstance(
            self.trainer.strategy, SingleDeviceStrategy
        )
        self._step = raw.step if self._plain else wrapped.step  # type: ignore[union-attr]
        self._skips = self._plain and all(group.get("fused") for group in raw.param_groups)

    def _load_resume_states(self, optimizer: torch.optim.Optimizer) -> None:
        """Continue a resumed fit's optimiser and schedule (this device's fused choice kept)."""
        assert self.resume_states is not None
        saved_optimizer, saved_schedule = self.resume_states
        fused = [group.get("fused") for group in optimizer.param_groups]
        optimizer.load_state_dict(saved_optimizer)
        for group, choice in zip(optimizer.param_groups, fused, strict=True):
            group["fused"] = choice
        scheduler = self.lr_schedulers()
        if scheduler is not None and saved_schedule is not None:
            scheduler.load_state_dict(saved_schedule)  # type: ignore[union-attr]
        self.resume_states = None

    def on_train_end(self) -> None:
        if self._optimizer is not None and hasattr(self._optimizer, "found_inf"):
            del self._optimizer.found_inf

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        optimizer, guard = self._optimizer, self._guard
        assert optimizer is not None
        rows = batch["x"].shape[0]
        for chunk in self.net.train_chunks(  # type: ignore[operator]
            batch, self.config.tbptt_steps, self.config.teacher_forcing
        ):
            loss = self.chunk_loss(chunk)
            optimizer.zero_grad(set_to_none=True)
            if self._plain:
                loss.backward()  # type: ignore[no-untyped-call]
            else:
                self.manual_backward(loss)
            found = guard.record(loss, self._clip_gradients(), rows)
            if self._skips:
                optimizer.found_inf = found  # type: ignore[attr-defined]
            else:
                guard.flush()  # raises before a bad step
            self._step()
            if self.average is not None:
                self.average.update()
            if len(guard.pending) >= GUARD_EVERY:
                guard.flush()
        self._samples += rows

    def _clip_gradients(self) -> Tensor:
        clip = self.config.grad_clip if self.config.grad_clip is not None else math.inf
        return torch.nn.utils.clip_grad_norm_(self._params, clip)

    # ---- validation --------------------------------------------------------------------------
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        """Keeps the batch's loss and metric sums on the device (read once per epoch)."""
        pred = self.net(batch["x"], batch.get("lengths"))
        rows = float(batch["x"].shape[0])
        if self.shape.is_float_target:
            final = self.final_forecast(pred, batch)
            target = self.final_forecast(batch["y"], batch)
            valid = batch.get("lengths") if self.shape.per_step_target else batch.get("out_lengths")
            mask = step_mask(valid, final.shape[1], final)
            loss = self.chunk_loss(Chunk(final, target, mask))
            error = self.to_original_units(final, batch) - self.to_original_units(target, batch)
            if mask is None:
                mae = error.abs().mean()
            else:  # the mean over valid steps only
                weights = mask.unsqueeze(-1).to(error.dtype).expand_as(error)
                mae = (error.abs() * weights).sum() / weights.sum().clamp(min=1.0)
            self._val_pending.append((torch.stack([loss, mae]), rows))
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
        stats = [loss, correct.sum().float(), scored.sum().float()]
        if pred.dim() == 3:
            stats.append((correct | ~scored).all(dim=1).float().sum())
        self._val_pending.append((torch.stack(stats), rows))

    def _sum_validation(self) -> None:
        """Adds the epoch's per-batch values to the validation sums (one host sync)."""
        if not self._val_pending:
            return
        table = torch.stack([stats for stats, _ in self._val_pending]).tolist()
        for values, (_, rows) in zip(table, self._val_pending, strict=True):
            self._val.add(M.VAL_LOSS, values[0], rows)
            if self.shape.is_float_target:
                self._val.add(M.VAL_METRIC, values[1], rows)
                continue
            self._val.sums[M.VAL_METRIC] = self._val.sums.get(M.VAL_METRIC, 0.0) + values[1]
            self._val.counts[M.VAL_METRIC] = self._val.counts.get(M.VAL_METRIC, 0.0) + values[2]
            if len(values) > 3:
                self._val.add(M.VAL_EXACT, values[3] / rows, rows)
        self._val_pending.clear()

    # ---- per-epoch bookkeeping ---------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        self._guard.new_epoch()
        self._samples = 0
        self._train_seconds = 0.0
        self._epoch_started = time.perf_counter()

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._batch_started = time.perf_counter()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._train_seconds += time.perf_counter() - self._batch_started

    def _flush_guard(self) -> None:
        """Reads the steps not read yet (raises if one diverged); the wait for their device work
        counts as training time."""
        started = time.perf_counter()
        self._guard.flush()
        self._train_seconds += time.perf_counter() - started

    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            self._flush_guard()  # a diverged epoch stops before its validation
            if self.average is not None:
                self.average.swap()  # validation scores the average (swapped back at the end)
        self._val = Totals()
        self._val_pending.clear()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self._val_pending.clear()
            return
        if self.average is not None:
            self.average.swap()
        self._sum_validation()
        self._val_metrics = {
            name: self._val.mean(name)
            for name in (M.VAL_LOSS, M.VAL_METRIC, M.VAL_EXACT)
            if name in self._val.sums
        }
        for name, value in self._val_metrics.items():
            self.log(name, value, on_epoch=True, prog_bar=name == M.VAL_LOSS)

    def on_train_epoch_end(self) -> None:
        self._flush_guard()
        optimizer = self.optimizers()
        totals = self._guard.totals
        metrics = {
            M.TRAIN_LOSS: totals.mean(M.TRAIN_LOSS),
            M.GRAD_NORM: totals.mean(M.GRAD_NORM),
            M.GRAD_NORM_MAX: self._guard.grad_max,
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

    def kept_state(self) -> dict[str, Tensor]:
        """A detached CPU copy of the model this epoch stands for: the weights' average when
        ``ema_decay`` is set (what validation scored), else the network's weights."""
        state = cpu_copy(self.net.state_dict())
        if self.average is not None:
            state.update(self.average.state())
        return state

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
        optimizer = cls(
            self.parameters(),
            lr=self.config.lr,
            weight_decay=self.config.weight_decay,
            fused=self.device.type in _FUSED_DEVICES,  # one kernel per tensor; skips on a flag
        )
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
