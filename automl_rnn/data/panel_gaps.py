"""Gaps in many series, filled as one series' are (``--missing interpolate``): the steps a
series skips (a date missing from its rows) inserted as empty rows, its incomplete first and
last rows dropped, and each run of at most ``--max-gap`` missing values interpolated linearly
within the series' training, validation and test parts (:func:`.missing.fill_causal`: no later
value flows back across a part's start); a longer run is refused, naming the id, the column and
the times around it. Without ``--missing interpolate`` a skipped step or an empty cell is
refused (:mod:`.panel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl_rnn.data.csvread import Table
from automl_rnn.data.long_table import Grouped
from automl_rnn.data.missing import fill_causal, missing_runs
from automl_rnn.errors import DataError

#: Days from which a typical step counts in calendar months (months, quarters, years).
MONTHLY_DAYS = 27


@dataclass(frozen=True)
class Rows:
    """The series' rows on their regular grid: ``codes[k]`` the series of row ``k``, ``values``
    ``[N, F]`` (NaN where missing), ``when`` each row's time (float64, nanoseconds for dates)."""

    codes: np.ndarray
    values: np.ndarray
    when: np.ndarray | None
    datetimes: bool = False


def on_grid(table: Table, grouped: Grouped, values: np.ndarray, notes: list[str]) -> Rows:
    """Every series on its regular time grid, the skipped steps inserted as empty rows and the
    incomplete rows at either end of a series dropped."""
    rows = Rows(grouped.codes, values, grouped.when, grouped.datetimes)
    if grouped.when is not None and (np.diff(grouped.codes) == 0).any():
        rows = _inserted(table, grouped, values, notes)
    return _trimmed(table, grouped, rows, notes)


def month_positions(grouped: Grouped) -> np.ndarray | None:
    """Each row's calendar month (year * 12 + month) when the series step by a month or more
    (months, quarters, years: their steps differ in days), else None. One rule for refusing
    skipped steps (:mod:`.panel`) and inserting them."""
    step = grouped.typical_step
    if grouped.when is None or not grouped.datetimes or step is None:
        return None
    if step < MONTHLY_DAYS * 86_400e9:
        return None
    stamps = pd.DatetimeIndex(grouped.when.astype("datetime64[ns]"))
    return (stamps.year * 12 + stamps.month).to_numpy(dtype=np.float64)


def _inserted(table: Table, grouped: Grouped, values: np.ndarray, notes: list[str]) -> Rows:
    assert grouped.when is not None
    codes, when = grouped.codes, grouped.when
    same_id = np.diff(codes) == 0
    step = grouped.typical_step
    assert step is not None  # two rows of one id exist
    months = month_positions(grouped)
    position = months if months is not None else when / step
    starts = np.flatnonzero(np.r_[True, ~same_id])
    slot = position - position[starts][codes]
    off = np.flatnonzero(np.abs(slot - np.round(slot)) > 0.01)
    if off.size:
        k = int(off[0])
        raise DataError(
            f"{table.path}: id '{grouped.names[codes[k]]}' has a time off its series' regular "
            f"step at {table.where(int(grouped.order[k]))}; --missing interpolate fills skipped "
            "steps of a regular series only: fix the time column"
        )
    slot = np.round(slot).astype(np.int64)
    ends = np.r_[starts[1:], len(codes)] - 1
    length = slot[ends] + 1
    offsets = np.r_[0, np.cumsum(length)]
    index = offsets[codes] + slot
    if offsets[-1] == len(codes):
        return Rows(codes, values, when, grouped.datetimes)
    full = np.full((int(offsets[-1]), values.shape[1]), np.nan)
    full[index] = values
    notes.append(f"{len(full) - len(codes)} skipped time step(s) inserted as missing values")
    grid_codes = np.repeat(np.arange(len(length)), length)
    grid_slot = np.arange(len(full)) - offsets[grid_codes]
    grid = when[starts][grid_codes] + grid_slot * step
    if months is not None:
        grid = _month_grid(when, starts, grid_codes, grid_slot, index)
    return Rows(grid_codes, full, grid, grouped.datetimes)


def _month_grid(
    when: np.ndarray, starts: np.ndarray, codes: np.ndarray, slot: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """The grid's times in calendar months from each series' first date, anchored as the file's
    dates are (month starts or month ends; else between the known neighbours)."""
    stamps = pd.DatetimeIndex(when.astype("datetime64[ns]"))
    months = pd.DatetimeIndex(when[starts].astype("datetime64[ns]"))[codes].to_period("M") + slot
    if stamps.is_month_start.all():
        return months.to_timestamp().as_unit("ns").asi8.astype(np.float64)
    if stamps.is_month_end.all():
        return months.to_timestamp(how="end").normalize().as_unit("ns").asi8.astype(np.float64)
    return np.interp(np.arange(len(codes)), index, when)


def _trimmed(table: Table, grouped: Grouped, rows: Rows, notes: list[str]) -> Rows:
    """Each series from its first complete row to its last."""
    complete = ~np.isnan(rows.values).any(axis=1)
    series = len(grouped.names)
    if complete.all():
        return rows
    first = np.full(series, len(complete))
    np.minimum.at(first, rows.codes[complete], np.flatnonzero(complete))
    last = np.full(series, -1)
    np.maximum.at(last, rows.codes[complete], np.flatnonzero(complete))
    empty = np.flatnonzero(last < 0)
    if empty.size:
        raise DataError(
            f"{table.path}: id '{grouped.names[empty[0]]}' has no row with every value; a series "
            "needs complete rows to be filled between"
        )
    position = np.arange(len(complete))
    keep = (position >= first[rows.codes]) & (position <= last[rows.codes])
    if keep.all():
        return rows
    notes.append(f"{int((~keep).sum())} incomplete row(s) at the ends of series dropped")
    when = rows.when[keep] if rows.when is not None else None
    return Rows(rows.codes[keep], rows.values[keep], when, rows.datetimes)


def filled(
    table: Table,
    names: np.ndarray,
    columns: tuple[str, ...],
    rows: Rows,
    horizon: int,
    max_gap: int,
    notes: list[str],
) -> np.ndarray:
    """``rows.values`` with each run of at most ``max_gap`` missing values interpolated within
    its series' part (training, validation, test: the last two ``horizon`` steps each)."""
    values = rows.values
    missing = np.isnan(values)
    if not missing.any():
        return values
    runs = missing_runs(missing)
    too_long = [run for run in runs if run[1] > max_gap]
    if too_long:
        start, length, j = min(too_long)
        raise DataError(
            f"{table.path}: id '{names[rows.codes[start]]}' misses {length} values of column "
            f"'{columns[j]}' in a row, from {_time(rows, start)} to "
            f"{_time(rows, start + length - 1)}, longer than the {max_gap} that --missing "
            "interpolate fills; fill them in the file or raise --max-gap"
        )
    out = values.copy()
    offsets = np.r_[0, np.cumsum(np.bincount(rows.codes, minlength=len(names)))]
    for s in np.unique(rows.codes[missing.any(axis=1)]):
        a, b = int(offsets[s]), int(offsets[s + 1])
        n = b - a
        out[a:b] = fill_causal(values[a:b], [max(n - 2 * horizon, 1), max(n - horizon, 1), n])
    notes.append(
        f"{int(missing.sum())} missing value(s) interpolated in {len(runs)} gap(s) (longest "
        f"{max(length for _, length, _ in runs)})"
    )
    return out


def _time(rows: Rows, k: int) -> str:
    """Row ``k``'s time for a message (a date as ISO text)."""
    if rows.when is None:
        return f"step {k + 1}"
    value = rows.when[k]
    if rows.datetimes:
        stamp = pd.Timestamp(int(value))
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    return f"{value:g}"
