"""The engines that run an exported graph: onnxruntime, TorchScript, or the eager network.

onnxruntime and torch are imported when an engine starts, never at import. Only the ``eager``
engine (the network rebuilt from automl-rnn's model code) needs the automl-rnn package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .manifest import ENGINE_FILES, ENGINES, BundleError


class Engine:
    """Runs the exported graph: float32 inputs ``x`` -> its output array."""

    name = ""

    def run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxEngine(Engine):
    """onnxruntime on the CPU (``threads`` intra-op threads; small RNNs gain nothing from more)."""

    name = "onnx"

    def __init__(self, path: Path, threads: int | None = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:
            raise BundleError(f"{path}: not a loadable ONNX model ({_short(err)})") from None
        self.input = self.session.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input: x})[0])


class TorchScriptEngine(Engine):
    """The TorchScript program, read by ``torch.jit.load`` (no Python pickle)."""

    name = "torchscript"

    def __init__(self, path: Path, threads: int | None = 1) -> None:
        import torch

        self.torch, self.threads = torch, threads
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript's deprecation
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as err:
            raise BundleError(
                f"{path}: not a loadable TorchScript program ({_short(err)})"
            ) from None

    def run(self, x: np.ndarray) -> np.ndarray:
        with _torch_threads(self.torch, self.threads), self.torch.inference_mode():
            return self.module(self.torch.from_numpy(x)).numpy()  # type: ignore[no-any-return]


class EagerEngine(Engine):
    """The network rebuilt from automl-rnn's model code, weights via ``weights_only=True``."""

    name = "eager"

    def __init__(self, path: Path, network: dict[str, Any], threads: int | None = 1) -> None:
        import torch

        from automl_rnn.export.network import load_inference_net

        self.torch, self.threads = torch, threads
        self.net = load_inference_net(network, path)

    def run(self, x: np.ndarray) -> np.ndarray:
        with _torch_threads(self.torch, self.threads), self.torch.inference_mode():
            return self.net(self.torch.from_numpy(x)).numpy()  # type: ignore[no-any-return]


def start_engine(
    root: Path, manifest: dict[str, Any], pre: dict[str, Any], engine: str, threads: int | None
) -> Engine:
    """The engine ``engine`` names (``auto``: ONNX with onnxruntime, else TorchScript, else eager)."""
    if engine not in ENGINES:
        raise BundleError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    listed = set(manifest.get("files", {}))
    if engine == "auto":
        usable = [
            name
            for name, module in (("onnx", "onnxruntime"), ("torchscript", "torch"))
            if ENGINE_FILES[name] in listed and _installed(module)
        ]
        engine = usable[0] if usable else "eager"
    if ENGINE_FILES[engine] not in listed:
        have = [name for name, file in ENGINE_FILES.items() if file in listed]
        raise BundleError(
            f"{root}: has no {engine} artefact ({ENGINE_FILES[engine]}); engines here: "
            f"{', '.join(have)} (export with --format {engine} to add it)"
        )
    path = root / ENGINE_FILES[engine]
    if engine == "onnx":
        if not _installed("onnxruntime"):
            raise BundleError("--engine onnx needs onnxruntime: pip install onnxruntime")
        return OnnxEngine(path, threads)
    if engine == "torchscript":
        return TorchScriptEngine(path, threads)
    return EagerEngine(path, pre["network"], threads)


@contextlib.contextmanager
def _torch_threads(torch: ModuleType, threads: int | None) -> Iterator[None]:
    """Torch's intra-op thread count set to ``threads`` for one call, then put back, so loading a
    bundle in a process (a notebook, a server) does not change torch's threads for the rest."""
    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:160]}"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
