"""A forecast series read from a CSV: columns chosen, time parsed and sorted, missing steps marked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from automl_rnn.data.csvread import Table, read_table, read_times
from automl_rnn.data.seasonality import season_from_step
from automl_rnn.errors import DataError


@dataclass
class RawSeries:
    """Values ``[N, F]`` (targets first, then covariates; NaN = missing) in time order."""

    label: str
    """The file (or task) the series came from, for messages."""
    columns: tuple[str, ...]
    n_targets: int
    values: np.ndarray
    lines: np.ndarray
    """File line of each row (0 for a time step the file skipped)."""
    times: pd.DatetimeIndex | np.ndarray | None = None
    season_hint: int | None = None
    """Seasonal period implied by the time column's frequency."""
    notes: list[str] = field(default_factory=list)
    dayfirst: bool | None = None
    """Day order the time column was read in (None: it did not matter)."""
    row_name: str = "line"
    """What ``lines`` count: file lines (CSV), or rows from 1 (Parquet)."""
    fill_gap: int = 0
    """The longest run of missing values filled (``--missing interpolate``'s ``--max-gap``; 0:
    none), which ``predict`` fills in a history the same way."""

    def where(self, i: int) -> str:
        """Where row ``i`` is, for messages: its file line, or its time when the file lacks it."""
        if self.lines[i] > 0:
            return f"{self.row_name} {self.lines[i]}"
        when = self.times[i] if self.times is not None else i
        after = self.lines[:i][self.lines[:i] > 0]
        return f"{when} (missing row after {self.row_name} {after[-1] if len(after) else 1})"

    def take(self, keep: np.ndarray) -> RawSeries:
        """The rows selected by ``keep`` (a boolean mask or indices)."""
        times = self.times[keep] if self.times is not None else None
        return RawSeries(
            self.label, self.columns, self.n_targets, self.values[keep], self.lines[keep], times,
            self.season_hint, self.notes, self.dayfirst, self.row_name, self.fill_gap,
        )  # fmt: skip


def read_series(
    path: str | Path, targets: tuple[str, ...], time_col: str | None, features: tuple[str, ...]
) -> RawSeries:
    """Read the target and covariate columns of a CSV, sorted by ``time_col`` when given."""
    table = read_table(path)
    for name in features:
        if name in targets:
            raise DataError(f"{path}: column '{name}' is both --target and --features; drop one")
    if time_col is not None and time_col in (*targets, *features):
        raise DataError(f"{path}: column '{time_col}' is the time column; it cannot be a target")
    columns = (*targets, *features)
    roles = ["--target"] * len(targets) + ["--features"] * len(features)
    if time_col is not None:
        table.column(time_col, "--time-col")
    values = np.stack([table.numeric(c, r) for c, r in zip(columns, roles)], axis=1)
    series = RawSeries(
        str(path), columns, len(targets), values, table.lines.copy(), row_name=table.row_name
    )
    if time_col is not None:
        series = _in_time_order(series, table, time_col)
    return series


def _in_time_order(series: RawSeries, table: Table, time_col: str) -> RawSeries:
    times, dayfirst = read_times(table, time_col)
    series.dayfirst = dayfirst
    order = np.argsort(np.asarray(times), kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        series.notes.append(f"rows sorted by '{time_col}'")
    series = series.take(order)
    sorted_times = times[order]
    dup = np.flatnonzero(np.asarray(sorted_times[1:]) == np.asarray(sorted_times[:-1]))
    if len(dup):
        i = int(dup[0])
        shown = table.frame[time_col].iloc[int(order[i + 1])]
        raise DataError(
            f"{table.path}: column '{time_col}' has duplicated timestamp '{shown}' at "
            f"{table.row_name}s {series.lines[i]} and {series.lines[i + 1]}; each time must appear once "
            "(aggregate or remove the duplicates)"
        )
    series.times = sorted_times
    if isinstance(sorted_times, pd.DatetimeIndex) and len(sorted_times) > 2:
        series = _regular(series, sorted_times)
    return series


def _regular(series: RawSeries, times: pd.DatetimeIndex) -> RawSeries:
    """Insert rows (all NaN) for time steps the file skipped, when the steps are regular."""
    step = pd.Series(times).diff().median()
    series.season_hint = season_from_step(step)
    days = step / pd.Timedelta(days=1)
    if 27 <= days <= 32 or 88 <= days <= 93 or 360 <= days <= 370:
        freq = "M" if days < 40 else ("Q" if days < 100 else "Y")
        slot = np.asarray(times.to_period(freq).asi8, dtype=np.int64)
    else:
        delta = np.asarray(times.as_unit("ns").asi8, dtype=np.int64)
        unit = int(step.value)
        if unit <= 0 or np.any((delta - delta[0]) % unit):
            return series  # irregular: keep the rows as they are
        slot = (delta - delta[0]) // unit
    slot = slot - slot[0]
    if slot[-1] == len(slot) - 1 or np.any(np.diff(slot) < 1):
        return series
    if slot[-1] > 4 * len(slot):
        return series  # too sparse to be a regular grid with gaps
    n = int(slot[-1]) + 1
    values = np.full((n, series.values.shape[1]), np.nan)
    values[slot] = series.values
    lines = np.zeros(n, dtype=np.int64)
    lines[slot] = series.lines
    series.notes.append(f"{n - len(slot)} skipped time steps inserted as missing values")
    return RawSeries(
        series.label, series.columns, series.n_targets, values, lines,
        _fill_times(n, slot, times), series.season_hint, series.notes, series.dayfirst,
        series.row_name,
    )  # fmt: skip


def _fill_times(n: int, slot: np.ndarray, times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Times of all ``n`` rows; inserted rows get times interpolated between the file's neighbours."""
    known = times.as_unit("ns").asi8.astype(np.float64)
    return pd.DatetimeIndex(np.interp(np.arange(n), slot, known).astype("datetime64[ns]"))
