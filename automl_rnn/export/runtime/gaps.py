"""A history's time steps, held to the training data's: a skipped step (a missing row) is
refused, or, for a series trained with ``--missing interpolate``, filled as training filled it.

The model reads its last ``window`` rows as consecutive steps. A missing row would have it read a
longer span as ``window`` steps and date its forecast wrongly, so a history must step as the
training data did: at its frequency (dates) or its step (numbers). A series whose training filled
runs of up to ``fill_gap`` missing values gets the same here: the skipped rows inserted, each run
of at most ``fill_gap`` missing values interpolated linearly between its known neighbours (all
of them in the past of the forecast), a longer run refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .columns import where
from .manifest import BundleError


def regular_rows(spec: dict[str, Any], frame: pd.DataFrame, times: Any) -> tuple[pd.DataFrame, Any]:
    """``frame`` (sorted by ``times``) with an empty row at each step its times skip, when the
    model fills gaps and every time lies on the training data's grid; else unchanged."""
    if not int(spec.get("fill_gap") or 0) or len(times) < 2:
        return frame, times
    if spec.get("time_kind") == "number":
        if not spec.get("step"):
            return frame, times
        step = float(spec["step"])
        values = np.asarray(times, dtype=np.float64)
        slots = (values - values[0]) / step
        if not np.allclose(slots, np.round(slots)):
            return frame, times
        grid: Any = values[0] + step * np.arange(round(float(slots[-1])) + 1)
        position = np.round(slots).astype(np.int64)
    else:
        if not spec.get("freq"):
            return frame, times
        index = pd.DatetimeIndex(times)
        grid = pd.date_range(index[0], index[-1], freq=str(spec["freq"]))
        position = grid.get_indexer(index)
        if (position < 0).any():  # a time off the grid: left for the step check to name
            return frame, times
    if len(position) == len(grid):
        return frame, times
    filled = pd.DataFrame(index=pd.RangeIndex(len(grid)), columns=frame.columns, dtype=object)
    filled.iloc[position] = frame.to_numpy(dtype=object)
    labels = np.full(len(grid), None, dtype=object)
    labels[position] = frame.index.to_numpy()
    filled.index = pd.Index(labels)
    return filled, grid


def interpolated(
    spec: dict[str, Any], values: np.ndarray, times: Any, columns: list[str], source: str
) -> np.ndarray:
    """``values`` ``[T, F]`` with each interior run of at most ``fill_gap`` missing values
    interpolated linearly; a longer run is refused, naming the column and its times."""
    fill = int(spec.get("fill_gap") or 0)
    if not fill or not np.isnan(values).any():
        return values
    out = values.copy()
    steps = np.arange(len(values))
    for j, name in enumerate(columns):
        missing = np.isnan(values[:, j])
        edges = np.diff(np.r_[0, missing.astype(np.int8), 0])
        for start, stop in zip(
            np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
        ):
            if start == 0 or stop == len(values):
                continue  # no known value on one side: left for the caller to refuse
            if stop - start > fill:
                raise BundleError(
                    f"{source}: column '{name}' misses {stop - start} values in a row from "
                    f"{_shown(times, start)} to {_shown(times, stop - 1)}; the model was trained "
                    f"filling at most {fill}: fill them in the file"
                )
        known = ~missing
        inside = (
            missing
            & (steps > np.argmax(known))
            & (steps < len(values) - np.argmax(known[::-1]) - 1)
        )
        out[inside, j] = np.interp(steps[inside], steps[known], values[known, j])
    return out


def check_steps(
    spec: dict[str, Any], times: Any, labels: pd.Index, time_col: str, source: str, row: str
) -> None:
    """Refuse a window whose rows skip a step of the training data's (nothing to check when
    training saw no regular step)."""
    if len(times) < 2:
        return
    if spec.get("time_kind") == "number":
        if not spec.get("step"):
            return
        step = float(spec["step"])
        skipped = np.flatnonzero(np.diff(np.asarray(times, dtype=np.float64)) > 1.5 * step)
        every = f"{step:g} apart, as in training"
    else:
        if not spec.get("freq"):
            return
        from pandas.tseries.frequencies import to_offset

        index = pd.DatetimeIndex(times)
        offset = to_offset(str(spec["freq"]))
        skipped = np.flatnonzero(np.asarray(index[1:]) > np.asarray(index[:-1] + offset))
        every = f"at the training data's frequency '{spec['freq']}'"
    if skipped.size:
        k = int(skipped[0])
        raise BundleError(
            f"{source}: column '{time_col}' skips from {_shown(times, k)} to "
            f"{_shown(times, k + 1)} at {where(row, labels[k + 1])}; the model reads its last "
            f"{len(times)} rows {every}: add the missing rows (fill their values)"
        )


def _shown(times: Any, k: int) -> str:
    """Time ``k`` for a message: a date as ISO text, a number as it reads."""
    if times is None:
        return f"row {k + 1}"
    time = times[k]
    if isinstance(time, pd.Timestamp):
        return str(time.date()) if time == time.normalize() else str(time)
    return f"{float(time):g}"
