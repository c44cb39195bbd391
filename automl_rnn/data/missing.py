"""Missing values in a series: refuse, drop, or interpolate short gaps without looking ahead."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from automl_rnn.data.series import RawSeries
from automl_rnn.errors import DataError

log = logging.getLogger("automl_rnn.data")

DEFAULT_MAX_GAP = 3


def missing_runs(missing: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start row, length, column)`` of each run of True in a ``[rows, columns]`` mask, column
    by column (one series, or many end to end whose first and last rows are complete)."""
    found = []
    for column in range(missing.shape[1]):
        edges = np.diff(np.concatenate([[0], missing[:, column].astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        found += [(int(a), int(b - a), column) for a, b in zip(starts, stops, strict=True)]
    return found


def handle_missing(series: RawSeries, mode: str, max_gap: int) -> RawSeries:
    """Apply ``--missing``: ``error`` refuses any gap, ``drop`` removes incomplete rows,
    ``interpolate`` trims incomplete rows at both ends and checks that no gap is longer than
    ``max_gap`` (the gaps stay NaN here: :func:`fill_causal` fills them once the splits are known).
    """
    nan = np.isnan(series.values)
    if not nan.any():
        series.fill_gap = max_gap if mode == "interpolate" else 0
        return series
    empty = [name for name, gone in zip(series.columns, nan.all(axis=0), strict=True) if gone]
    if empty:
        raise DataError(
            f"{series.label}: column '{empty[0]}' has no value in any row; fill it, or leave it "
            "out of --target / --features"
        )
    if mode == "error":
        row, col = np.argwhere(nan)[0]
        raise DataError(
            f"{series.label}: column '{series.columns[col]}' has a missing value at "
            f"{series.where(int(row))}; fill it, or use --missing interpolate or drop"
        )
    complete = ~nan.any(axis=1)
    if mode == "drop":
        _note(series, f"dropped {int((~complete).sum())} rows with missing values")
        return series.take(complete)
    if not complete.any():
        raise DataError(f"{series.label}: no row has a value in every column used")
    first, last = int(np.argmax(complete)), len(complete) - int(np.argmax(complete[::-1]))
    if first > 0 or last < len(complete):
        _note(series, f"dropped {first + len(complete) - last} incomplete rows at the ends")
        series = series.take(np.arange(first, last))
    gaps = missing_runs(np.isnan(series.values))
    too_long = [gap for gap in gaps if gap[1] > max_gap]
    if too_long:
        start, length, col = min(too_long)
        raise DataError(
            f"{series.label}: column '{series.columns[col]}' has a gap of {length} missing values "
            f"from {series.where(start)} to {series.where(start + length - 1)}, longer than the "
            f"{max_gap} that --missing interpolate fills; fill it in the file or use --missing drop"
        )
    if gaps:
        count = sum(length for _, length, _ in gaps)
        longest = max(length for _, length, _ in gaps)
        _note(
            series, f"interpolated {count} missing values in {len(gaps)} gaps (longest {longest})"
        )
    series.fill_gap = max_gap
    return series


def fill_causal(values: np.ndarray, ends: list[int]) -> np.ndarray:
    """Linear interpolation that never looks across a split's end.

    Each part ``[previous end, end)`` is filled from the series up to ``end`` only, so a gap that
    straddles the training part's end is held at the last training value there: later values cannot
    reach the training part.
    """
    if not np.isnan(values).any():
        return values
    out = np.empty_like(values)
    start = 0
    for end in ends:
        frame = pd.DataFrame(values[:end])
        part = frame.interpolate(method="linear", limit_area="inside").ffill().to_numpy()
        out[start:end] = part[start:end]
        start = end
    return out


def _note(series: RawSeries, message: str) -> None:
    series.notes.append(message)
    log.warning("%s: %s", series.label, message)
