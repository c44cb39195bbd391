"""Many series, one global model: a long table of series (``--id-col``, ``--time-col``,
``--target`` [, ``--features``, ``--static-features``]) read into :class:`PanelData`.

Each id is one series, its rows put in time order (:mod:`.long_table`); series may differ in
length and start. The seasonal period comes from the time step (monthly → 12), the horizon from
``--horizon`` (else one season when the series are long enough). Series too short for one
training window, a validation and a test horizon are left out, and said so; none left is an error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from automl_rnn.data import panel_gaps
from automl_rnn.data.csvread import Table
from automl_rnn.data.lengths import shortest_window
from automl_rnn.data.long_table import Grouped, group_rows, read_long
from automl_rnn.data.panel_data import PanelColumns, PanelData, PanelSeries
from automl_rnn.data.panel_gaps import Rows
from automl_rnn.data.seasonality import season_from_step
from automl_rnn.data.static_steps import check_static
from automl_rnn.errors import DataError


def read_panel(
    path: str | Path,
    columns: PanelColumns,
    horizon: int | None = None,
    season: int | None = None,
    name: str | None = None,
    max_gap: int | None = None,
) -> PanelData:
    """The series of the long table at ``path``; ``horizon`` and ``season`` None infer them.
    ``max_gap`` (``--missing interpolate``): fill skipped steps and empty cells in runs of up to
    that many (:mod:`.panel_gaps`); None refuses them."""
    numbers = (columns.target, *columns.features, *columns.static)
    return read_long(
        path, (columns.id_col,), numbers, columns.time_col,
        lambda table: _panel(table, columns, horizon, season, name, max_gap),
    )  # fmt: skip


def _panel(
    table: Table,
    columns: PanelColumns,
    horizon: int | None,
    season: int | None,
    name: str | None,
    max_gap: int | None,
) -> PanelData:
    grouped = group_rows(table, columns.id_col, columns.time_col)
    step = _step(grouped)  # before ``values`` exists: its temporaries then cost no peak
    names = (columns.target, *columns.features, *columns.static)
    roles = (
        ["--target"]
        + ["--features"] * len(columns.features)
        + ["--static-features"] * len(columns.static)
    )
    values = np.empty((len(grouped.codes), len(names)))
    for j, (column, role) in enumerate(zip(names, roles)):
        raw = _numbers(table, column, role)
        empty = np.isnan(raw)
        if empty.any() and (max_gap is None or role == "--static-features"):
            i = int(np.argmax(empty))
            fix = (
                "(a static feature has one value per id)"
                if max_gap is not None
                else "or give --missing interpolate to fill short gaps"
            )
            raise DataError(
                f"{table.path}: column '{column}' is empty at {table.where(i)} (id "
                f"'{table.frame[columns.id_col].iloc[i]}'); fill the gap {fix}"
            )
        values[:, j] = grouped.ordered(raw)
        del raw, table.frame[column]  # large tables: the column lives on in ``values`` only
    _check_rows(table, grouped, values, columns)
    notes: list[str] = []
    if max_gap is None:
        _check_gaps(table, grouped, columns)
        rows = Rows(grouped.codes, values, grouped.when, grouped.datetimes)
    else:
        rows = panel_gaps.on_grid(table, grouped, values, notes)
    if season is None and step is not None:
        season = season_from_step(step)
        if season is not None:
            notes.append(f"season {season} from the time step ({step})")
    if horizon is None:
        typical = int(np.median(np.bincount(rows.codes)))
        horizon = season if season is not None and 6 * season <= typical else 1
        notes.append(f"--horizon not given: forecasting {horizon} step(s)")
    if max_gap is not None:
        filled = panel_gaps.filled(table, grouped.names, names, rows, horizon, max_gap, notes)
        rows = replace(rows, values=filled)
    series = _kept(table, grouped.names, rows, horizon, season, notes)
    return PanelData(
        name or Path(table.path).stem, str(table.path), columns, series, horizon, season, notes,
        grouped.dayfirst, fill_gap=max_gap or 0,
    )  # fmt: skip


def _numbers(table: Table, column: str, role: str) -> np.ndarray:
    """A numeric column; a text target reads as labels, so the refusal says how to classify."""
    try:
        return table.numeric(column, role)
    except DataError as err:
        if role != "--target":
            raise
        raise DataError(
            f"{err}; many series forecast numbers: give --features COL,... to classify each id "
            "by this label instead"
        ) from None


def _check_rows(table: Table, grouped: Grouped, values: np.ndarray, columns: PanelColumns) -> None:
    """One row per id is not a series; a constant target has nothing to forecast; a static
    feature must not change within an id."""
    lengths = grouped.lengths
    short = np.flatnonzero(lengths < 2)
    if short.size:
        raise DataError(
            f"{table.path}: id '{grouped.names[short[0]]}' (column '{columns.id_col}') has one "
            "row; a series needs many steps (drop it, or check the id column)"
        )
    if np.nanmax(values[:, 0]) == np.nanmin(values[:, 0]):
        raise DataError(
            f"{table.path}: column '{columns.target}' (--target) is {values[0, 0]:g} in every row; "
            "there is nothing to forecast"
        )
    for j, column in enumerate(columns.static, start=1 + len(columns.features)):
        check_static(table, grouped, values[:, j], column)


def _check_gaps(table: Table, grouped: Grouped, columns: PanelColumns) -> None:
    """Every series steps by the same interval: a skipped step (a missing date) is refused,
    naming the id and the rows around it, since a window over it would read a longer step as one
    (and shift every season after it). Calendar months, quarters and years count in months."""
    if grouped.when is None:
        return
    same_id = np.diff(grouped.codes) == 0
    if not same_id.any():
        return
    gaps, unit = np.diff(grouped.when), ""
    step = grouped.typical_step
    assert step is not None  # two rows of one id exist
    months = panel_gaps.month_positions(grouped)
    if months is not None:  # months and longer: count in calendar months
        gaps = np.diff(months)
        step, unit = float(np.median(gaps[same_id])), "month(s)"
    skipped = np.flatnonzero(same_id & (gaps > 1.5 * step))
    if not skipped.size:
        return
    k = int(skipped[0])
    assert columns.time_col is not None  # times were read, so a time column was named
    shown = table.column(columns.time_col, "--time-col")
    before, after = (shown.iloc[int(grouped.order[i])] for i in (k, k + 1))
    missing = round(float(gaps[k]) / step) - 1
    if unit:
        every = f"{step:g} {unit}"
    elif grouped.datetimes:
        interval = pd.Timedelta(int(step), unit="ns")
        whole_days = interval == pd.Timedelta(days=interval.days)
        every = f"{interval.days} day(s)" if whole_days else str(interval)
    else:
        every = f"{step:g}"
    raise DataError(
        f"{table.path}: id '{grouped.names[grouped.codes[k]]}' skips {missing} time step(s) "
        f"between '{before}' and '{after}' ({table.where(int(grouped.order[k + 1]))}; the "
        f"series step by {every}); many series need a row at every step: add the missing "
        "rows, or give --missing interpolate to fill short gaps"
    )


def _step(grouped: Grouped) -> pd.Timedelta | None:
    """The typical time step within a series (datetimes only)."""
    if grouped.when is None or not grouped.datetimes:
        return None
    step = grouped.typical_step
    return pd.Timedelta(int(step), unit="ns") if step is not None else None


def _kept(
    table: Table,
    names: np.ndarray,
    rows: Rows,
    horizon: int,
    season: int | None,
    notes: list[str],
) -> PanelSeries:
    """The series long enough for one training window, a validation and a test horizon."""
    lengths = np.bincount(rows.codes, minlength=len(names))
    window = shortest_window(horizon, season)
    need = max(window + horizon, season or 0) + 2 * horizon  # seasonal naive copies a season
    long_enough = lengths >= need
    if not long_enough.any():
        raise DataError(
            f"{table.path}: every series is too short to forecast {horizon} step(s): the longest "
            f"has {int(lengths.max())} rows, needs {need} (an input window and {horizon} step(s) "
            f"to train on, then {horizon} to validate and {horizon} to test); "
            "give longer series or a smaller --horizon"
        )
    dropped = np.flatnonzero(~long_enough)
    if dropped.size:
        notes.append(
            f"{dropped.size} series shorter than {need} rows left out (e.g. "
            f"'{names[dropped[0]]}', {int(lengths[dropped[0]])} rows)"
        )
    ids = tuple(str(n) for n in names[long_enough])
    if not dropped.size:  # no copies of a large table
        return PanelSeries(ids, rows.codes, rows.values, rows.when, rows.datetimes)
    keep = long_enough[rows.codes]
    renumber = np.cumsum(long_enough) - 1
    when = rows.when[keep] if rows.when is not None else None
    return PanelSeries(ids, renumber[rows.codes[keep]], rows.values[keep], when, rows.datetimes)
