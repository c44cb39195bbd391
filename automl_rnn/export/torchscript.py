"""The TorchScript artefact (``model.torchscript.pt``), verified against eager PyTorch.

Why TorchScript and not ``torch.export``: in torch 2.13, ``torch.export`` specialises the
sequence length of the fused recurrent ops (``aten.lstm``, ``aten.gru``, ``aten.rnn_*``: their
shape function walks the time steps), so an exported program only runs on the example's length,
and variable-length tasks (dates, text) could not be served; its ``.pt2`` loader also falls back
to Python's pickle for some payloads. ``torch.jit.trace`` keeps the fused op with symbolic batch
and length, and ``torch.jit.load`` reads TorchScript's own format (tensors and TorchScript code,
no Python callables). TorchScript is deprecated upstream; the verification below (other batch
sizes and lengths than the traced ones) catches a trace that baked a shape in.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.export.runtime import TorchScriptEngine
from automl_rnn.export.verify import compare

if TYPE_CHECKING:
    from torch import nn


def write(net: nn.Module, example: np.ndarray, path: Path) -> None:
    """Trace ``net`` (an :class:`~automl_rnn.export.network.InferenceNet`) on ``example`` and
    save the program to ``path``."""
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, (torch.from_numpy(example),), check_trace=False)
        torch.jit.save(traced, str(path))


def verify(
    path: Path, inputs: list[np.ndarray], reference: list[np.ndarray], float_out: bool
) -> dict[str, Any]:
    """The saved program's outputs (loaded back from disk) against eager PyTorch's."""
    import torch

    report = compare("TorchScript", TorchScriptEngine(path).run, inputs, reference, float_out)
    report["runtime"] = f"torch.jit {torch.__version__}"
    return report
