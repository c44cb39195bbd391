"""The inference graph every export format is made from, and its rebuild from a bundle.

:class:`InferenceNet` wraps a trained network so that the graph takes one input ``x`` (no
``lengths``: rows of one call share one length, see :mod:`automl_rnn.export.runtime`) and returns
the output that counts: forecasts and regression values ``[B, L, D]`` in scaled units (seq2seq:
its last step's forecast), class logits ``[B, C]``, token logits ``[B, L, C]`` (seq2seq tokens
``[B, T, C]``). It calls the network's own ``forward``, so the exported graph is the code that
was trained, free-running decoders included.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from automl_rnn.data.contract import DataShape
from automl_rnn.errors import UserError
from automl_rnn.export.ensemble import EnsembleNet, Member, MemberSpec
from automl_rnn.export.loading import load_weights
from automl_rnn.models.factory import ArchConfig, build_network


class InferenceNet(nn.Module):
    """``x -> y`` for export (see the module docstring)."""

    def __init__(self, net: nn.Module, arch: ArchConfig, shape: DataShape) -> None:
        super().__init__()
        self.net = net
        self.last_step = (
            arch.topology == "seq2seq" and shape.is_float_target and not shape.per_step_target
        )
        self.output_len = shape.output_len
        self.output_size = shape.output_size

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.net(x)
        if self.last_step:  # [B, T, L * D] -> the last step's forecast [B, L, D]
            y = y[:, -1].reshape(-1, self.output_len, self.output_size)
        return y


def network_spec(arch: ArchConfig, shape: DataShape) -> dict[str, Any]:
    """JSON-ready architecture and tensor sizes (what :func:`build_inference_net` rebuilds from)."""
    return {"arch": dataclasses.asdict(arch), "shape": dataclasses.asdict(shape)}


def build_inference_net(spec: dict[str, Any], state: dict[str, Tensor] | None = None) -> nn.Module:
    """The network ``spec`` describes (one trial's, or an ensemble's: :mod:`.ensemble`), in eval
    mode, with ``state`` loaded (strict) when given."""
    if "ensemble" in spec:
        ensemble = _build_ensemble(spec)
        _load(ensemble, state)
        return ensemble
    arch = ArchConfig(**spec["arch"])
    shape = DataShape(**spec["shape"])
    net = build_network(arch, shape)
    _load(net, state)
    return InferenceNet(net, arch, shape).eval()


def _build_ensemble(spec: dict[str, Any]) -> EnsembleNet:
    """The untrained ensemble ``spec`` describes (:func:`~.ensemble.ensemble_spec`), in eval mode."""
    members = []
    for entry in spec["ensemble"]:
        member = MemberSpec.from_json(entry)
        net = InferenceNet(build_network(member.arch, member.shape), member.arch, member.shape)
        members.append(Member(net, member.window, member.scaling, member.shape.output_size))
    return EnsembleNet(members).eval()


def _load(net: nn.Module, state: dict[str, Tensor] | None) -> None:
    if state is None:
        return
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = " ".join(str(err).split())[:200]
        raise UserError(f"weights do not fit the recorded architecture ({first})") from None


def load_inference_net(spec: dict[str, Any], weights: Path) -> nn.Module:
    """Rebuild from ``spec`` and load ``weights`` safely (``torch.load(weights_only=True)``)."""
    return build_inference_net(spec, load_weights(weights, "model weights"))


@torch.no_grad()
def run(net: nn.Module, x: Any) -> Any:
    """``net`` on a float32 numpy batch; numpy out."""
    return net(torch.from_numpy(x)).numpy()
