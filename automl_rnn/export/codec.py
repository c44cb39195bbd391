"""What prediction needs to know about a task's data (``preprocess.json``), written at export time.

From the prepared data and the trial's parameters: the input columns and how they become the
graph's ``x`` (window, scaling statistics, time column and frequency; pixel columns; alphabets and
vocabularies), and how the graph's output becomes answers (horizon and targets, class names, output
vocabulary). Also the sample inputs the export is verified on and the input example MLflow logs;
both go through :mod:`automl_rnn.export.runtime`'s own encoders, which are checked here against the
training data's tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.contract import INPUT_MARKS, OUTPUT_MARKS
from automl_rnn.data.forecast import SCALE_FLOOR, ForecastData
from automl_rnn.data.panel_data import PanelData
from automl_rnn.data.prepared import PreparedData
from automl_rnn.data.sequence_pairs import PairData
from automl_rnn.data.sequences import SequenceData
from automl_rnn.data.text_pairs import VectorTextData
from automl_rnn.errors import ConfigError
from automl_rnn.export import panel_codec, runtime

#: Rows of the validation split the export is verified on.
SAMPLE_ROWS = 64
#: Rows of the MLflow input example (classification and token tasks).
EXAMPLE_ROWS = 3
#: Stand-in for a character a text model maps to "unknown" (any character outside its alphabet).
_UNSEEN = "\ufffd"


def builder(spec: ExperimentSpec) -> str:
    """How the data were built: a task file's builder, ``series`` (a CSV series) or ``text``."""
    if spec.data is not None:
        if spec.target_text_col and not spec.text_col:
            return "vector"
        return "text" if spec.text_col else "sequences" if spec.id_col else "series"
    from automl_rnn.data.catalog import load_task

    assert spec.task is not None
    return str(load_task(spec.task)[0].builder)


def describe(spec: ExperimentSpec, prepared: PreparedData, hp: Hyperparams) -> dict[str, Any]:
    """``{"input": ..., "output": ...}`` of ``preprocess.json`` (see :mod:`~.runtime`)."""
    if isinstance(prepared, PanelData):
        return panel_codec.describe(spec, prepared, hp)
    made_by = builder(spec)
    if isinstance(prepared, ForecastData):
        return _forecast(spec, prepared, hp, made_by)
    assert isinstance(prepared, ArrayData)  # every task but a forecast
    topology = str(hp.topology)
    view = prepared.views[topology]
    inputs: dict[str, Any]
    if made_by in ("digits", "digits_caption"):
        from automl_rnn.data.images import PIXELS

        shape = [8, 8] if made_by == "digits" else [64]
        inputs = {"type": "pixels", "columns": list(PIXELS), "max": 16.0, "shape": shape}
    elif made_by == "dates":
        from automl_rnn.data.generators import dates

        alphabet = list(dates({"samples": 1, "seed": 0})[1])
        inputs = {"type": "chars", "column": "text", "alphabet": alphabet, "unknown": False}
    elif made_by == "text":
        inputs = {
            "type": "chars",
            "column": spec.text_col,
            "alphabet": list(prepared.alphabet),
            "unknown": True,
        }
        from automl_rnn.data.text import MAX_CHARS

        inputs["max_chars"] = MAX_CHARS
    elif made_by == "copy_memory":
        symbols = view.one_hot - 2
        vocab = ["_", *(str(i) for i in range(1, symbols + 1)), "GO"]
        inputs = {"type": "tokens", "column": "sequence", "vocab": vocab}
    elif made_by == "adding":
        inputs = {"type": "float_steps", "columns": ["value", "marker"]}
    elif made_by == "vector":
        assert isinstance(prepared, VectorTextData)
        inputs = {
            "type": "vector",
            "columns": list(prepared.features),
            "mu": [float(v) for v in prepared.feature_mu],
            "sd": [float(v) for v in prepared.feature_sd],
        }
    elif made_by == "sequences":
        assert isinstance(prepared, SequenceData)
        inputs = {  # vec2seq reads each id's static features, the others every step's
            "type": "vector" if topology == "vec2seq" else "long",
            "id_col": prepared.columns.id_col,
            "time_col": prepared.columns.time_col,
            "columns": list(prepared.columns.features),
            "mu": [float(v) for v in prepared.feature_mu],
            "sd": [float(v) for v in prepared.feature_sd],
        }
        if prepared.columns.output_steps_col is not None:  # numeric pairs: read input steps
            inputs["output_steps"] = {
                "column": prepared.columns.output_steps_col,
                "output": list(OUTPUT_MARKS),
                "input": list(INPUT_MARKS),
            }
    else:
        raise ConfigError(f"export does not know how to read inputs of task builder '{made_by}'")
    if inputs["type"] in ("chars", "tokens"):
        inputs["one_hot"] = int(view.one_hot)
    fixed = view.lengths is None and inputs["type"] != "pixels"
    inputs["length"] = int(view.x.shape[1]) if fixed and topology == "seq2seq" else None
    return {"input": inputs, "output": _array_output(prepared, topology, view)}


def _array_output(prepared: ArrayData, topology: str, view: View) -> dict[str, Any]:
    if isinstance(prepared, SequenceData) and topology in ("vec2seq", "encoder_decoder"):
        # a sequence per id: from its static features, or after its input steps (pairs)
        if prepared.kind == "tokens":
            return {"type": "id_steps", "classes": list(prepared.vocab[1:])}
        out = {"type": "id_steps", "loc": prepared.target_loc, "scale": prepared.target_scale}
        if isinstance(prepared, PairData) and prepared.last_feature is not None:
            out["from_last"] = prepared.last_feature  # answers are changes from this input
        return out
    if isinstance(prepared, SequenceData) and prepared.kind == "tokens":  # a class per step
        return {"type": "step_classes", "classes": list(prepared.vocab[1:])}
    if isinstance(prepared, SequenceData) and prepared.step_values:  # a value per step
        return {"type": "step_values", "loc": prepared.target_loc, "scale": prepared.target_scale}
    if prepared.kind == "classification":
        return {"type": "classes", "classes": list(prepared.classes)}
    if prepared.kind == "tokens":
        positions = None
        if topology == "seq2seq":  # only the scored steps are the answer
            positions = [int(i) for i in np.flatnonzero((view.y >= 0).any(axis=0))]
        return {"type": "tokens", "vocab": list(prepared.vocab), "positions": positions}
    shape = prepared.shape(topology)
    values = {"type": "values", "output_len": shape.output_len, "output_size": shape.output_size}
    if isinstance(prepared, SequenceData) and prepared.kind == "regression":
        values.update(loc=prepared.target_loc, scale=prepared.target_scale)
    return values


def _forecast(
    spec: ExperimentSpec, prepared: ForecastData, hp: Hyperparams, made_by: str
) -> dict[str, Any]:
    time_col = spec.time_col
    if spec.task is not None and made_by == "series":
        from automl_rnn.data.catalog import load_task

        time_col = load_task(spec.task)[0].time_col
    times = prepared.times
    columns = [str(c) for c in prepared.columns]
    inputs: dict[str, Any] = {
        "type": "series",
        "time_col": time_col if times is not None else None,
        "time_kind": None,
        "freq": None,
        "step": None,
        "columns": columns,
        "targets": columns[: prepared.d],
        "window": int(hp.seq_len or prepared.default_seq_len),
        "scaling": hp.scaling,
        "mu": [float(v) for v in prepared.mu],
        "sd": [float(v) for v in prepared.sd],
        "scale_floor": SCALE_FLOOR,
        "fill_gap": prepared.fill_gap,  # missing values a history may lack, filled as training did
    }
    inputs.update(panel_codec.time_fields(times, prepared.dayfirst))
    output = {
        "type": "forecast",
        "horizon": int(prepared.horizon or 1),
        "season": prepared.season,
        "targets": columns[: prepared.d],
    }
    return {"input": inputs, "output": output}


def history_frame(spec: dict[str, Any], prepared: ForecastData, end: int) -> pd.DataFrame:
    """The series rows ``[end - window, end)`` as a history table (times as ISO text)."""
    window = int(spec["window"])
    rows = slice(end - window, end)
    table: dict[str, Any] = {}
    if spec.get("time_col") and prepared.times is not None:  # time_col is set only with times
        times = prepared.times[rows]
        table[spec["time_col"]] = (
            runtime.time_text(pd.DatetimeIndex(times))
            if spec["time_kind"] == "datetime"
            else [float(t) for t in times]
        )
    for j, name in enumerate(spec["columns"]):
        table[name] = prepared.values[rows, j].astype(np.float64)
    return pd.DataFrame(table)


def row_frame(
    spec: dict[str, Any], view: View, rows: np.ndarray, ids: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Rows of an array task's view written as the table ``predict`` reads (``ids``: the
    sequences' ids, for a long table)."""
    kind = spec["type"]
    if kind == "long":
        return _long_frame(spec, view, rows, ids)
    if kind == "vector":
        values = view.x[rows].astype(np.float64) * np.asarray(spec["sd"]) + np.asarray(spec["mu"])
        frame = pd.DataFrame(values, columns=spec["columns"])
        if spec.get("id_col"):  # static features of a long table: one row per id
            frame.insert(0, str(spec["id_col"]), [ids[r] for r in rows])
        return frame
    if kind == "pixels":
        values = np.rint(view.x[rows].reshape(len(rows), -1) * spec["max"]).astype(np.float64)
        return pd.DataFrame(values, columns=spec["columns"])
    if kind == "float_steps":
        cells = {
            name: [" ".join(f"{v:.9g}" for v in view.x[r, :, j]) for r in rows]
            for j, name in enumerate(spec["columns"])
        }
        return pd.DataFrame(cells)
    chars = kind == "chars"
    symbols = list(spec["alphabet"] if chars else spec["vocab"])
    unseen = _UNSEEN if _UNSEEN not in symbols else "\x01"
    texts = []
    for r in rows:
        length = int(view.lengths[r]) if view.lengths is not None else view.x.shape[1]
        items = [symbols[i - 1] if i <= len(symbols) else unseen for i in view.x[r, :length]]
        texts.append(("" if chars else " ").join(items))
    return pd.DataFrame({spec["column"]: texts})


def _long_frame(
    spec: dict[str, Any], view: View, rows: np.ndarray, ids: tuple[str, ...]
) -> pd.DataFrame:
    """Sequences ``rows`` as a long table (one row per step, features in their own units)."""
    assert view.lengths is not None
    lengths = view.lengths[rows]
    steps = np.concatenate([view.x[r, : view.lengths[r]] for r in rows]).astype(np.float64)
    table: dict[str, Any] = {spec["id_col"]: np.repeat([ids[r] for r in rows], lengths)}
    if spec.get("time_col"):
        table[spec["time_col"]] = np.concatenate([np.arange(n) for n in lengths])
    values = steps * np.asarray(spec["sd"]) + np.asarray(spec["mu"])
    table.update({name: values[:, j] for j, name in enumerate(spec["columns"])})
    return pd.DataFrame(table)


def samples(pre: dict[str, Any], prepared: PreparedData, hp: Hyperparams) -> list[np.ndarray]:
    """Graph inputs to verify the export on: validation data (forecast: validation and test
    windows), grouped by length, plus a one-row batch. The runtime's encoders must reproduce the
    training tensors exactly (checked here)."""
    spec = pre["input"]
    if isinstance(prepared, PanelData):
        return panel_codec.samples(pre, prepared, SAMPLE_ROWS)
    if isinstance(prepared, ForecastData):
        seq_len, scaling = int(spec["window"]), str(spec["scaling"])
        x = np.concatenate(
            [prepared.windows(s, seq_len, scaling)["x"] for s in ("val", "test")], axis=0
        )[-SAMPLE_ROWS:]
        _check_history(pre, prepared, x[-1])
        return [np.ascontiguousarray(x), np.ascontiguousarray(x[-1:])]
    assert isinstance(prepared, ArrayData)  # every task but a forecast
    view = prepared.views[str(hp.topology)]
    rows = prepared.split["val"][:SAMPLE_ROWS]
    frame = row_frame(spec, view, rows, _ids(prepared))
    groups = runtime.encode_rows(spec, frame, "validation sample", "row")
    _check_rows(spec, view, rows, frame, groups)
    xs = [x for _, x in groups]
    return [*xs, xs[0][:1]]


def _check_history(pre: dict[str, Any], prepared: ForecastData, last: np.ndarray) -> None:
    """The runtime's history reading and scaling give the training window of the last test
    forecast."""
    spec = pre["input"]
    end = int(prepared.n) - int(pre["output"]["horizon"])
    frame = history_frame(spec, prepared, end)
    window = runtime.read_history(spec, frame, "export check", "row")
    x, _, _ = runtime.scale_window(spec, window.values)
    if not np.allclose(x, last, atol=1e-5):
        raise RuntimeError("export: the runtime's window scaling differs from training's")


def _check_rows(
    spec: dict[str, Any],
    view: View,
    rows: np.ndarray,
    frame: pd.DataFrame,
    groups: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """The runtime's encoding of ``frame`` equals the training tensors of ``rows``."""
    if spec["type"] in ("chars", "tokens"):
        encoded = runtime.token_ids(spec, frame, "export check", "row")
        for r, ids in zip(rows, encoded):
            length = int(view.lengths[r]) if view.lengths is not None else view.x.shape[1]
            if not np.array_equal(ids, view.x[r, :length]):
                raise RuntimeError("export: the runtime's token encoding differs from training's")
        return
    for index, x in groups:
        expected = view.x[rows[index]]
        if view.lengths is not None:  # a group of one length: the padding is not encoded
            expected = expected[:, : x.shape[1]]
        if not np.allclose(x, expected.reshape(x.shape), atol=1e-6):
            raise RuntimeError("export: the runtime's input encoding differs from training's")


def input_example(pre: dict[str, Any], prepared: PreparedData, hp: Hyperparams) -> pd.DataFrame:
    """What MLflow logs as the input example: the latest history (forecast) or a few
    validation rows."""
    spec = pre["input"]
    if isinstance(prepared, PanelData):
        return panel_codec.history_frame(spec, prepared, EXAMPLE_ROWS)
    if isinstance(prepared, ForecastData):
        return history_frame(spec, prepared, int(prepared.n))
    assert isinstance(prepared, ArrayData)  # every task but a forecast
    view = prepared.views[str(hp.topology)]
    return row_frame(spec, view, prepared.split["val"][:EXAMPLE_ROWS], _ids(prepared))


def _ids(prepared: ArrayData) -> tuple[str, ...]:
    return prepared.ids if isinstance(prepared, SequenceData) else ()
