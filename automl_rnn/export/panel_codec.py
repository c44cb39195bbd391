"""``preprocess.json`` for many series (:class:`PanelData`): the long history table ``predict``
reads (id, time, target, covariates, static features), how each series' window is scaled, and
the samples the export is verified on, read back through the runtime's own reader."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.config.hparams import Hyperparams
from automl_rnn.data.panel_data import LEVEL_FLOOR, PanelData
from automl_rnn.export import runtime


def describe(spec: ExperimentSpec, prepared: PanelData, hp: Hyperparams) -> dict[str, Any]:
    """``{"input": ..., "output": ...}`` of a panel's ``preprocess.json``."""
    columns = prepared.columns
    names = [columns.target, *columns.features, *columns.static]
    inputs: dict[str, Any] = {
        "type": "panel",
        "id_col": columns.id_col,
        "time_col": columns.time_col if prepared.when is not None else None,
        "time_kind": None,
        "freq": None,
        "step": None,
        "columns": names,
        "targets": [columns.target],
        "static": list(columns.static),
        "window": int(hp.seq_len or prepared.default_seq_len),
        "scaling": "window",
        "level_floor": LEVEL_FLOOR,
        "mu": [float(v) for v in prepared.mu],
        "sd": [float(v) for v in prepared.sd],
        "fill_gap": prepared.fill_gap,  # missing values a history may lack, filled as training did
    }
    longest = int(np.argmax(prepared.lengths))
    times = _times(prepared, slice(prepared.offsets[longest], prepared.offsets[longest + 1]))
    inputs.update(time_fields(times, prepared.dayfirst))
    output = {
        "type": "forecast",
        "horizon": int(prepared.horizon),
        "season": prepared.season,
        "targets": [columns.target],
    }
    return {"input": inputs, "output": output}


def time_fields(times: object, dayfirst: bool | None) -> dict[str, Any]:
    """How ``predict`` reads and extends a time column: its kind, day order, typical step and
    frequency (nothing for fewer than two times)."""
    if isinstance(times, pd.DatetimeIndex) and len(times) > 1:
        return {
            "time_kind": "datetime",
            "dayfirst": dayfirst,
            "step": str(pd.Series(times).diff().median()),
            "freq": runtime.infer_freq(times),
        }
    if isinstance(times, np.ndarray) and len(times) > 1:
        step = float(np.median(np.diff(np.asarray(times, dtype=np.float64))))
        return {"time_kind": "number", "step": step}
    return {}


def _times(prepared: PanelData, rows: slice) -> pd.DatetimeIndex | np.ndarray | None:
    if prepared.when is None:
        return None
    when = prepared.when[rows]
    if prepared.datetimes:
        return pd.DatetimeIndex(when.astype(np.int64).astype("datetime64[ns]"))
    return when


def history_frame(spec: dict[str, Any], prepared: PanelData, series: int) -> pd.DataFrame:
    """The last ``window`` rows of the first ``series`` series, as the long table ``predict``
    reads (times as text)."""
    ends = prepared.offsets[1 : series + 1]
    return _rows(spec, prepared, ends)


def _rows(spec: dict[str, Any], prepared: PanelData, ends: np.ndarray) -> pd.DataFrame:
    """The ``window`` rows before each row index in ``ends`` (one series each), long format."""
    window = int(spec["window"])
    rows = (ends[:, None] + np.arange(-window, 0)).reshape(-1)
    table: dict[str, Any] = {
        str(spec["id_col"]): np.asarray(prepared.ids)[prepared.codes[rows]],
    }
    if spec.get("time_col"):
        times = _times(prepared, rows)  # type: ignore[arg-type]
        table[str(spec["time_col"])] = (
            runtime.time_text(times)
            if spec["time_kind"] == "datetime"
            else [float(t) for t in np.asarray(times)]
        )
    for j, name in enumerate(spec["columns"]):
        table[str(name)] = prepared.values[rows, j].astype(np.float64)
    return pd.DataFrame(table)


def samples(pre: dict[str, Any], prepared: PanelData, rows: int) -> list[np.ndarray]:
    """Validation and test windows to verify the export on, and a one-row batch; the runtime,
    reading the test windows' rows as a history table, must give the training windows (checked
    here)."""
    spec = pre["input"]
    window = int(spec["window"])
    test = prepared.starts("test")[-rows:]  # one window per series
    starts = np.concatenate([prepared.starts("val"), test])[-rows:]
    x = prepared.gather(starts, window)["x"]
    expected = prepared.gather(test, window)["x"]
    frame = _rows(spec, prepared, test)
    histories = runtime.read_panel_history(spec, frame, "export check", "row")
    for history, training in zip(histories.values(), expected, strict=True):
        read = runtime.scale_window(spec, history.values)[0]
        if not np.allclose(read, training, atol=1e-5):
            raise RuntimeError("export: the runtime's window scaling differs from training's")
    return [np.ascontiguousarray(x), np.ascontiguousarray(x[-1:])]
