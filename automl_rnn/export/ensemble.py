"""The graph of a top-k ensemble of a forecast study's trials: the mean of its members' forecasts.

Members may differ in everything a trial searches, their input window and its scaling included.
The graph reads the longest member's window scaled by the training statistics (``scaling:
global`` in ``preprocess.json``: the runtime's own encoding, so ``predict`` is unchanged). Each
member takes its own last ``window`` steps; a member trained on window scaling rescales them by
their own mean and standard deviation, floored at :data:`~automl_rnn.data.forecast.SCALE_FLOOR`.
Window scaling is affine in the training statistics' units (the floor ``SCALE_FLOOR * sd`` is
``SCALE_FLOOR`` there), so this is exactly the scaling the member was trained on; its forecast
goes back to those units, and the graph returns the members' mean in them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor, nn

from automl_rnn.data.contract import DataShape
from automl_rnn.data.forecast import SCALE_FLOOR
from automl_rnn.models.factory import ArchConfig

SCALINGS = ("global", "window")


@dataclasses.dataclass(frozen=True)
class MemberSpec:
    """One member: its architecture, tensor sizes, input window and scaling."""

    arch: ArchConfig
    shape: DataShape
    window: int
    scaling: str

    def to_json(self) -> dict[str, Any]:
        return {
            "arch": dataclasses.asdict(self.arch),
            "shape": dataclasses.asdict(self.shape),
            "window": self.window,
            "scaling": self.scaling,
        }

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> MemberSpec:
        return cls(
            ArchConfig(**spec["arch"]),
            DataShape(**spec["shape"]),
            int(spec["window"]),
            str(spec["scaling"]),
        )


class Member(nn.Module):
    """``x`` (globally scaled, any window at least ``window`` long) -> this member's forecast
    ``[B, L, D]`` in the same units. ``net``: the member's inference graph (an
    :class:`~automl_rnn.export.network.InferenceNet`), fed its own scaled window."""

    def __init__(self, net: nn.Module, window: int, scaling: str, targets: int) -> None:
        super().__init__()
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")
        self.net, self.window, self.targets = net, window, targets
        self.window_scaling = scaling == "window"

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, -self.window :]
        if not self.window_scaling:
            return self.net(x)  # type: ignore[no-any-return]
        wide = x.double()  # statistics in float64, as training computed them
        loc = wide.mean(dim=1, keepdim=True)
        spread = (wide - loc).pow(2).mean(dim=1, keepdim=True).sqrt()
        scale = torch.clamp(spread, min=SCALE_FLOOR)
        y: Tensor = self.net(((wide - loc) / scale).float())
        d = self.targets
        return (y.double() * scale[..., :d] + loc[..., :d]).float()


class EnsembleNet(nn.Module):
    """The mean of the members' forecasts (see the module docstring)."""

    def __init__(self, members: list[Member]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.window = max(m.window for m in members)

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


def ensemble_spec(members: list[MemberSpec]) -> dict[str, Any]:
    """The ``network`` entry of ``preprocess.json`` for an ensemble."""
    return {"ensemble": [m.to_json() for m in members]}
