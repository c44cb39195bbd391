"""Writing an export folder: weights, ``preprocess.json``, each graph format (verified against
PyTorch on sample inputs) and the manifest, for one trial or an ensemble alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from automl_rnn.export import runtime

if TYPE_CHECKING:
    from torch import Tensor, nn

    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.data.prepared import PreparedData

_PACKAGES = (
    "automl-rnn",
    "torch",
    "onnx",
    "onnxruntime",
    "mlflow",
    "numpy",
    "pandas",
    "optuna",
    "pytorch-lightning",
)


@dataclasses.dataclass(frozen=True)
class Graph:
    """What is exported: the eager network, its weights, ``preprocess.json`` and the inputs the
    formats are verified on."""

    net: nn.Module
    state: dict[str, Tensor]
    pre: dict[str, Any]
    inputs: list[np.ndarray]
    float_out: bool
    per_step: bool


def versions() -> dict[str, str | None]:
    """Python's and the relevant packages' versions (None when not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def _files(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name: {"sha256": runtime.sha256(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != runtime.MANIFEST
    }


def write(
    study: str,
    spec: ExperimentSpec,
    prepared: PreparedData,
    record: dict[str, Any],
    graph: Graph,
    formats: list[str],
    folder: Path,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Write ``graph`` into ``folder`` (``record``: the trial the manifest names; ``extra``: its
    checkpoint, refit and ensemble entries); return the export's summary."""
    import torch

    from automl_rnn.export import network, onnx_format, torchscript

    state = {k: v.contiguous().clone() for k, v in graph.state.items()}
    torch.save(state, folder / runtime.WEIGHTS_FILE)
    write_json(folder / runtime.PREPROCESS, graph.pre)
    reference = [network.run(graph.net, x) for x in graph.inputs]
    verification: dict[str, Any] = {}
    if "onnx" in formats:
        path = folder / runtime.ONNX_FILE
        onnx_format.write(graph.net, graph.inputs[0][:2], path, graph.per_step)
        verification["onnx"] = onnx_format.verify(path, graph.inputs, reference, graph.float_out)
    if "torchscript" in formats:
        path = folder / runtime.TORCHSCRIPT_FILE
        torchscript.write(graph.net, graph.inputs[0][:2], path)
        verification["torchscript"] = torchscript.verify(
            path, graph.inputs, reference, graph.float_out
        )
    engines = [f for f in formats if f != "mlflow"] + ["eager"]
    manifest = {
        "format_version": graph.pre["format_version"],
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **{k: v for k, v in record.items() if k not in ("sampled", "checkpoint")},
        **extra,
        "task": {
            "name": prepared.name,
            "kind": prepared.kind,
            "topology": graph.pre["topology"],
            "data": spec.data_args(),
            "fingerprint": prepared.fingerprint,
        },
        "formats": formats,
        "engines": {name: runtime.ENGINE_FILES[name] for name in engines},
        "verification": verification,
        "versions": versions(),
        "files": _files(folder),
    }
    write_json(folder / runtime.MANIFEST, manifest)
    summary = {
        "study": study,
        "trial": record["trial"],
        "formats": formats,
        "verification": verification,
        "manifest": manifest,
    }
    if "ensemble" in extra:
        summary["ensemble"] = extra["ensemble"]
    return summary
