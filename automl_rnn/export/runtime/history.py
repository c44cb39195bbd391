"""A forecast's input: the model's window read from a history table and scaled as training did."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .columns import id_names, parse_numbers, parse_times, stripped, where
from .gaps import check_steps, interpolated, regular_rows
from .manifest import BundleError


class History:
    """The last ``window`` rows of a history: values ``[T, F]`` (float32) and their times."""

    def __init__(self, values: np.ndarray, times: Any) -> None:
        self.values = values
        self.times = times


def read_history(spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str) -> History:
    """The model's input window from a history table: columns checked, rows in time order, the
    last ``window`` rows complete."""
    time_col, columns, window = spec.get("time_col"), list(spec["columns"]), int(spec["window"])
    needed = ([time_col] if time_col else []) + columns
    frame = stripped(frame)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        names = ", ".join(f"'{c}'" for c in missing)
        raise BundleError(
            f"{source}: no column {names}; the model needs the columns it was trained on: "
            f"{', '.join(needed)}"
        )
    if len(frame) < window:
        raise BundleError(
            f"{source}: history has {len(frame)} rows, shorter than the model's input window of "
            f"{window}; give at least the last {window} rows of {', '.join(needed)}"
        )
    times: Any = None
    if time_col:
        kind, dayfirst = spec.get("time_kind", "datetime"), spec.get("dayfirst")
        times = parse_times(frame[time_col], kind, time_col, source, row, dayfirst)
        order = np.argsort(np.asarray(times), kind="stable")
        frame, times = frame.iloc[order], times[order]
        same = np.flatnonzero(np.asarray(times[1:]) == np.asarray(times[:-1]))
        if len(same):
            label = frame.index[int(same[0]) + 1]
            raise BundleError(
                f"{source}: column '{time_col}' repeats time {frame[time_col].iloc[int(same[0])]!r} "
                f"at {where(row, label)}; each time must appear once"
            )
        frame, times = regular_rows(spec, frame, times)
        check_steps(spec, times[-window:], frame.index[-window:], time_col, source, row)
    filling = bool(spec.get("fill_gap"))  # a gap's known neighbours may lie before the window
    read = frame if filling else frame.iloc[-window:]
    values = np.stack([parse_numbers(read[c], c, source, row) for c in columns], axis=1)
    values = interpolated(spec, values, times, columns, source)[-window:]
    empty = np.isnan(values)
    if empty.any():
        i, j = (int(k) for k in np.argwhere(empty)[0])
        label = frame.index[len(frame) - window + i]
        at = where(row, label) if label is not None else f"the missing step {times[-window:][i]}"
        raise BundleError(
            f"{source}: column '{columns[j]}' is empty at {at}; the model reads every one of the "
            f"last {window} rows: fill the gap"
        )
    return History(values.astype(np.float32), None if times is None else times[-window:])


def scale_window(
    spec: dict[str, Any], values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled inputs ``[T, F]`` (float32) and the targets' ``loc``, ``scale`` (float32 ``[D]``),
    exactly as training scaled its windows."""
    d = len(spec["targets"])
    x = values.astype(np.float32)
    if spec["type"] == "panel":
        return _scale_panel_window(spec, x)
    if spec["scaling"] == "global":
        loc = np.asarray(spec["mu"], dtype=np.float64)
        scale = np.asarray(spec["sd"], dtype=np.float64)
    else:
        loc = x.mean(axis=0, dtype=np.float64)
        floor = float(spec["scale_floor"]) * np.asarray(spec["sd"], dtype=np.float64)
        scale = np.maximum(x.std(axis=0, dtype=np.float64), floor)
    scaled = ((x - loc) / scale).astype(np.float32)
    return scaled, loc[:d].astype(np.float32), scale[:d].astype(np.float32)


def _scale_panel_window(
    spec: dict[str, Any], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many series: the target by the window's own mean and std (floored at ``level_floor`` of
    its mean absolute level; 1 for an all-zero window), the other columns by the training
    statistics ``mu``/``sd``, exactly as ``PanelData.gather``."""
    target = x[:, :1]
    loc = target.mean(axis=0, dtype=np.float64)
    level = np.abs(target).mean(axis=0, dtype=np.float64)
    floor = float(spec["level_floor"]) * level
    scale = np.maximum(target.std(axis=0, dtype=np.float64), floor)
    scale = np.where(scale > 0, scale, 1.0)
    scaled = x.copy()
    scaled[:, :1] = (target - loc) / scale
    if x.shape[1] > 1:
        mu, sd = np.asarray(spec["mu"]), np.asarray(spec["sd"])
        scaled[:, 1:] = ((x[:, 1:].astype(np.float64) - mu) / sd).astype(np.float32)
    return scaled, loc.astype(np.float32), scale.astype(np.float32)


def read_panel_history(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str
) -> dict[str, History]:
    """The model's input window of each series of a long history table (``id_col`` names the
    series; ids in order of first appearance), each read as :func:`read_history` reads one."""
    frame = stripped(frame)
    names = id_names(spec, frame, source, row, "forecasts each series named in it")
    return {
        str(name): read_history(spec, group, f"{source} (id '{name}')", row)
        for name, group in frame.groupby(names, sort=False)
    }
