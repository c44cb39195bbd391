"""The ONNX artefact: dynamic batch (and sequence length for sequence inputs), verified with
onnxruntime against PyTorch on sample inputs.

Written with torch's TorchScript-based exporter (``dynamo=False``): in torch 2.13 the dynamo
exporter (like ``torch.export``) specialises the sequence length of ``aten.lstm``/``gru``/``rnn``
to the example's, so a variable-length task could not run on other lengths; the TorchScript-based
exporter maps the recurrent layers to ONNX's LSTM/GRU/RNN ops with a symbolic length.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.export.runtime import OnnxEngine
from automl_rnn.export.verify import compare

if TYPE_CHECKING:
    from torch import nn

OPSET = 17


def write(net: nn.Module, example: np.ndarray, path: Path, per_step_output: bool) -> None:
    """Export ``net`` (an :class:`~automl_rnn.export.network.InferenceNet`) traced on ``example``
    to ``path``; input ``x`` and output ``y`` with dynamic batch (and steps) axes."""
    import onnx
    import torch

    sequence = example.ndim == 3
    x_axes = {0: "batch", 1: "steps"} if sequence else {0: "batch"}
    y_axes = {0: "batch", 1: "steps"} if per_step_output else {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.from_numpy(example),),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": x_axes, "y": y_axes},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    onnx.checker.check_model(str(path), full_check=True)


def verify(
    path: Path, inputs: list[np.ndarray], reference: list[np.ndarray], float_out: bool
) -> dict[str, Any]:
    """onnxruntime's outputs against PyTorch's (see :func:`~automl_rnn.export.verify.compare`)."""
    import onnxruntime

    report = compare("ONNX", OnnxEngine(path).run, inputs, reference, float_out)
    report["runtime"] = f"onnxruntime {onnxruntime.__version__}"
    report["opset"] = OPSET
    return report
