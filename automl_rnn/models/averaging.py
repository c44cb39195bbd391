"""An exponential moving average of a network's weights: the model a trial keeps when its space
sets ``ema_decay``.

At the learning rates short series need, the weights after any one epoch are a noisy draw (the
validation MAE of neighbouring epochs differs by a factor of several), so the best single epoch
is partly luck. The average over the last few hundred optimiser steps is a smoother model;
validation scores it, the best epoch keeps it, and export ships it as an ordinary state dict.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


def cpu_copy(weights: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Detached CPU copies of named weights (unchanged by further training)."""
    return {name: value.detach().to("cpu", copy=True) for name, value in weights.items()}


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
        self.decay = decay
        self.steps = steps
        named = list(net.named_parameters())
        self.names = [name for name, _ in named]
        self.live = [param.detach() for _, param in named]
        """The network's parameters (views sharing their storage: optimiser steps show here)."""
        if state is None:
            self.averaged = [p.clone() for p in self.live]
        else:  # a resumed fit: the average saved with its epoch snapshot
            self.averaged = [
                state[n].to(p.device, p.dtype) for n, p in zip(self.names, self.live, strict=True)
            ]

    def update(self) -> None:
        """Fold the network's current weights into the average (after an optimiser step)."""
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self.averaged, self.live, 1.0 - decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange the network's weights and the average in place (twice: as before)."""
        for param, averaged in zip(self.live, self.averaged, strict=True):
            live = param.clone()
            param.copy_(averaged)
            averaged.copy_(live)

    def state(self) -> dict[str, Tensor]:
        """The average by parameter name (detached CPU copies)."""
        return cpu_copy(dict(zip(self.names, self.averaged, strict=True)))
