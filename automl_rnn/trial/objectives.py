"""What a trial is scored on: one :class:`Objective` per value a search optimises.

Which objectives a task kind offers, and the names users write for them, are resolved by
:mod:`automl_rnn.search.objectives`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Objective:
    """One objective: the user's name, the metric it reads, and its direction."""

    name: str
    metric: str
    direction: Literal["minimize", "maximize"]
    per_epoch: bool = True
    """Known after every epoch (usable for pruning and best-epoch selection)."""

    def signed(self, value: float) -> float:
        """``value`` turned smaller-is-better (negated when maximising)."""
        return value if self.direction == "minimize" else -value

    def value_of(self, metrics: Mapping[str, float], best_epoch: Mapping[str, float]) -> float:
        """The trial's value: from its best epoch's metrics when known per epoch, else from its
        final metrics (parameter count, latency); NaN when missing."""
        source = best_epoch if self.per_epoch else metrics
        return float(source.get(self.metric, math.nan))
