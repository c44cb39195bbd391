"""An exponential moving average of a network's weights: the model a trial keeps when its space
sets ``ema_decay``.

At the learning rates short series need, the weights after any one epoch are a noisy draw (the
validation MAE of neighbouring epochs differs by a factor of several), so the best single epoch
is partly luck. The average over the last few hundred optimiser steps is a smoother model;
validation scores it, the best epoch keeps it, and export ships it as an ordinary state dict.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class WeightAverage:
    """``average = decay * average + (1 - decay) * weights`` after every optimiser step, with the
    decay ramped up as ``min(decay, (1 + t) / (10 + t))`` so early steps are not frozen in."""

    def __init__(
        self,
        net: nn.Module,
        decay: float,
        state: dict[str, Tensor] | None = None,
        steps: int = 0,
    ) -> None:
        self.net = net
        self.decay = decay
        self.steps = steps
        self.names = [name for name, _ in net.named_parameters()]
        live = [p.detach() for p in net.parameters()]
        if state is None:
            self.averaged = [p.clone() for p in live]
        else:  # a resumed fit: the average saved with its epoch snapshot
            self.averaged = [state[n].to(p.device, p.dtype) for n, p in zip(self.names, live)]

    def update(self) -> None:
        """Fold the network's current weights into the average (after an optimiser step)."""
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        live = [p.detach() for p in self.net.parameters()]
        torch._foreach_lerp_(self.averaged, live, 1.0 - decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the network's weights and the average in place (twice: as before)."""
        for param, averaged in zip(self.net.parameters(), self.averaged, strict=True):
            live = param.detach().clone()
            param.copy_(averaged)
            averaged.copy_(live)

    def state(self) -> dict[str, Tensor]:
        """The average by parameter name (detached CPU copies)."""
        return {
            name: tensor.detach().to("cpu", copy=True)
            for name, tensor in zip(self.names, self.averaged, strict=True)
        }
