"""Predict from an exported folder: checksums checked, inputs encoded, one engine run, outputs decoded.

Self-contained on purpose: this package imports nothing from automl_rnn (its modules import each
other relatively; numpy and pandas at import; onnxruntime or torch when an engine starts), so MLflow
ships it inside the pyfunc model (as the package ``automl_rnn_runtime``) and a served model needs no
automl-rnn install. Only the ``eager`` engine (the network rebuilt from automl-rnn's model code)
needs the package.

Safe loading: before anything is read, every file is checked against the sha256 in
``manifest.json``. ONNX is parsed by onnxruntime; the TorchScript program by ``torch.jit.load``
(TorchScript's own deserializer: tensors and TorchScript code, no Python callables); ``weights.pt``
only with ``torch.load(weights_only=True)``. Python's pickle never sees a file from the folder.

Engines: ``onnx`` (onnxruntime), ``torchscript``, ``eager``; ``auto`` takes the ONNX artefact when
onnxruntime is installed, else the TorchScript one, else the eager network.

Modules: :mod:`.manifest` (file names, manifest, checksums), :mod:`.engines`, :mod:`.columns`
(reading the caller's columns), :mod:`.history` (forecast inputs), :mod:`.rows` (row inputs, long tables of sequences),
:mod:`.outputs` (decoding).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .engines import EagerEngine, Engine, OnnxEngine, TorchScriptEngine, start_engine
from .history import History, read_history, read_panel_history, scale_window
from .manifest import (
    ENGINE_FILES,
    ENGINES,
    ENSEMBLE_FORMAT_VERSION,
    FORMAT_VERSION,
    MANIFEST,
    ONNX_FILE,
    PREPROCESS,
    TORCHSCRIPT_FILE,
    TRIAL_FORMAT_VERSION,
    WEIGHTS_FILE,
    BundleError,
    read_json,
    read_manifest,
    sha256,
    verify_files,
)
from .outputs import (
    decode_id_steps,
    decode_rows,
    decode_steps,
    forecast_frame,
    future_times,
    infer_freq,
    last_inputs,
    time_text,
    token_text,
)
from .rows import (
    LongSequences,
    by_length,
    encode_rows,
    first_row_per_id,
    float_steps,
    long_sequences,
    output_times,
    pixels,
    token_ids,
)

__all__ = [
    "CHUNK_ROWS",
    "ENGINES",
    "ENGINE_FILES",
    "ENSEMBLE_FORMAT_VERSION",
    "FORMAT_VERSION",
    "MANIFEST",
    "ONNX_FILE",
    "PREPROCESS",
    "TORCHSCRIPT_FILE",
    "TRIAL_FORMAT_VERSION",
    "WEIGHTS_FILE",
    "Bundle",
    "BundleError",
    "EagerEngine",
    "Engine",
    "History",
    "LongSequences",
    "OnnxEngine",
    "TorchScriptEngine",
    "by_length",
    "decode_id_steps",
    "decode_rows",
    "decode_steps",
    "encode_rows",
    "first_row_per_id",
    "float_steps",
    "forecast_frame",
    "future_times",
    "infer_freq",
    "last_inputs",
    "load_bundle",
    "long_sequences",
    "output_times",
    "pixels",
    "read_history",
    "read_json",
    "read_manifest",
    "read_panel_history",
    "scale_window",
    "sha256",
    "start_engine",
    "time_text",
    "token_ids",
    "token_text",
    "verify_files",
]

#: Rows per engine call (bounded memory on large inputs).
CHUNK_ROWS = 1024


class Bundle:
    """An exported folder, ready to predict. Load with :func:`load_bundle`."""

    def __init__(
        self, root: Path, manifest: dict[str, Any], pre: dict[str, Any], engine: Engine
    ) -> None:
        self.root = root
        self.manifest = manifest
        self.pre = pre
        self.engine = engine

    @property
    def kind(self) -> str:
        return str(self.pre["kind"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """The graph's output for float32 inputs ``x`` (in chunks of :data:`CHUNK_ROWS`)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        parts = [self.engine.run(x[i : i + CHUNK_ROWS]) for i in range(0, len(x), CHUNK_ROWS)]
        return np.concatenate(parts, axis=0)

    def predict(self, frame: pd.DataFrame, source: str = "input", row: str = "row") -> pd.DataFrame:
        """Predictions for ``frame``: a forecast (``horizon`` rows) from a history, or one row per
        input row. ``source`` and ``row`` name the data and its rows in messages (``line`` with
        file line numbers as the index)."""
        if not isinstance(frame, pd.DataFrame):
            raise BundleError(f"{source}: expected a table (DataFrame), got {type(frame).__name__}")
        if self.kind == "forecast":
            return self._forecast(frame, source, row)
        spec, out = self.pre["input"], self.pre["output"]
        if out["type"] == "id_steps" and spec["type"] == "vector":  # from static features
            frame = first_row_per_id(spec, frame, source, row)
            answers = [(index, self.run(x)) for index, x in encode_rows(spec, frame, source, row)]
            return decode_id_steps(spec, out, frame, answers)
        read = long_sequences(spec, frame, source, row) if spec["type"] == "long" else None
        groups = by_length(read.steps) if read else encode_rows(spec, frame, source, row)
        outputs: list[tuple[np.ndarray, np.ndarray]] = [(index, self.run(x)) for index, x in groups]
        if read is not None:  # one answer per id, or per step of each id
            if out["type"] in ("step_classes", "step_values"):
                return decode_steps(spec, out, read, outputs)
            keys = pd.DataFrame({str(spec["id_col"]): read.ids})
            if out["type"] == "id_steps":  # numeric pairs: output steps after the inputs
                steps = int(outputs[0][1].shape[1])
                times = output_times(spec, frame, read.ids, steps, source, row)
                locs = last_inputs(spec, out, read)
                return decode_id_steps(spec, out, keys, outputs, locs, times)
            frame = keys
        return decode_rows(spec, out, frame, outputs)

    def _forecast(self, frame: pd.DataFrame, source: str, row: str) -> pd.DataFrame:
        spec = self.pre["input"]
        if spec["type"] == "panel":
            return self._panel_forecast(frame, source, row)
        window = read_history(spec, frame, source, row)
        x, loc, scale = scale_window(spec, window.values)
        scaled = self.run(x[None])[0]  # [L, D]
        values = scaled.astype(np.float32) * scale + loc
        return forecast_frame(spec, self.pre["output"], window.times, values)

    def _panel_forecast(self, frame: pd.DataFrame, source: str, row: str) -> pd.DataFrame:
        """One forecast per series of a long history table: rows (id, step, time, target)."""
        spec, out = self.pre["input"], self.pre["output"]
        histories = read_panel_history(spec, frame, source, row)
        scaled = [scale_window(spec, h.values) for h in histories.values()]
        x = np.stack([s[0] for s in scaled])
        loc = np.stack([s[1] for s in scaled])[:, None, :]
        scale = np.stack([s[2] for s in scaled])[:, None, :]
        values = self.run(x).astype(np.float32) * scale + loc  # [S, L, 1]
        parts = []
        for (name, history), forecast in zip(histories.items(), values):
            part = forecast_frame(spec, out, history.times, forecast)
            part.insert(0, str(spec["id_col"]), name)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)


def load_bundle(path: str | Path, engine: str = "auto", threads: int | None = 1) -> Bundle:
    """Open an exported folder: manifest and checksums checked, the engine started."""
    root = Path(path)
    manifest = read_manifest(root)
    pre = read_json(root / PREPROCESS)
    return Bundle(root, manifest, pre, start_engine(root, manifest, pre, engine, threads))
