"""A trained module's predictions over a split (in the data's units), their scores, and the
network's inference latency."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from automl_rnn.data.prepared import PreparedData
from automl_rnn.models.module import RecurrentModule
from automl_rnn.models.topologies import Batch


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {k: v.to(device) if k != "lengths" else v for k, v in batch.items()}


@torch.no_grad()
def predict(module: RecurrentModule, loader: Iterable[Batch], device: torch.device) -> np.ndarray:
    """Predictions in loader order: forecasts ``[N, L, D]`` in original units (seq2seq: the last
    valid step's forecast), class indices ``[N]``, token indices ``[N, L]`` (``[N, T]`` seq2seq)."""
    module.eval()
    parts = []
    for raw in loader:
        batch = _to_device(raw, device)
        pred = module.net(batch["x"], batch.get("lengths"))
        if module.shape.is_float_target:
            values = module.to_original_units(module.final_forecast(pred, batch), batch)
            parts.append(values.float().cpu().numpy())
        else:
            parts.append(pred.argmax(dim=-1).cpu().numpy())
    if parts[0].ndim >= 2 and len({part.shape[1] for part in parts}) > 1:
        # per-step outputs of batches cut to their own longest sequence: right-pad (PAD, 0.0)
        width = max(part.shape[1] for part in parts)
        parts = [
            np.pad(part, [(0, 0), (0, width - part.shape[1])] + [(0, 0)] * (part.ndim - 2))
            for part in parts
        ]
    return np.concatenate(parts, axis=0)


def score(
    module: RecurrentModule, prepared: PreparedData, splits: Mapping[str, Iterable[Batch]]
) -> dict[str, float]:
    """The scores of ``module``'s predictions on each split (``{"val": loader, ...}``), split
    prefixed, baselines on the same samples included (:meth:`PreparedData.score`)."""
    device = next(module.net.parameters()).device
    metrics: dict[str, float] = {}
    for split, loader in splits.items():
        metrics.update(prepared.score(split, predict(module, loader, device)))
    return metrics


@torch.no_grad()
def inference_latency_ms(
    net: nn.Module, loader: Iterable[Batch], device: torch.device, repeats: int = 5
) -> float:
    """Median wall time of a forward pass over one sequence (the first row of the first batch)."""
    net.eval()
    batch = _to_device(next(iter(loader)), device)
    x = batch["x"][:1]
    lengths = batch["lengths"][:1] if "lengths" in batch else None
    net(x, lengths)  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        net(x, lengths)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - started) * 1000.0)
    return float(statistics.median(times))
