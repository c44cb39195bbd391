"""Long tables (one row per time step): the rows of each id found and put in time order.

Shared by every shape read from a long table: labelled sequences, per-step labels
(:mod:`.sequences`) and many-series forecasts (:mod:`.panel`). Rows of one id may be anywhere in
the file; they are ordered by ``--time-col`` within the id (by file order without one), and a
repeated (id, time) is refused with both lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from automl_rnn.data.csvread import Table, read_table, read_times, read_typed
from automl_rnn.data.parquet import is_parquet, read_parquet_table
from automl_rnn.errors import DataError

Shaped = TypeVar("Shaped")


def read_long(
    path: str | Path,
    text: tuple[str, ...],
    numbers: tuple[str, ...],
    times: str | None,
    shape: Callable[[Table], Shaped],
) -> Shaped:
    """The read stage of every long-table shape: ``shape`` applied to the table at ``path``,
    read typed (Parquet, or the fast CSV read of only the named columns: seconds for millions of
    rows). A problem found on the fast CSV read is found again on the exact read, whose refusal
    names the line."""
    if is_parquet(path):  # typed, rows counted exactly: no second read
        return shape(read_parquet_table(path, text, numbers, times))
    typed = read_typed(path, text, numbers, times)
    if typed is not None:
        try:
            return shape(typed)
        except DataError:
            pass
    return shape(read_table(path))


@dataclass(frozen=True)
class Grouped:
    """A long table's rows grouped by id: :attr:`order` lists the table's rows id by id, in time
    order; ``codes[k]`` is the id (index into ``names``, int32) of ordered row ``k``."""

    sort: np.ndarray | None
    """The table's rows in grouped order; None when they already were (the identity: a table of
    millions of rows holds no ``0 .. n-1`` array for it)."""
    codes: np.ndarray
    names: np.ndarray
    when: np.ndarray | None
    """Each ordered row's time as float64 (nanoseconds for datetimes); None without a time column."""
    datetimes: bool
    """Whether ``when`` holds datetimes (else plain numbers)."""
    dayfirst: bool | None = None
    """The day order dates were read in (None: it did not matter)."""

    @property
    def order(self) -> np.ndarray:
        """The table row of each ordered row (built on demand when the table was in order: the
        refusals that name a line ask for it)."""
        return np.arange(len(self.codes)) if self.sort is None else self.sort

    def ordered(self, column: np.ndarray) -> np.ndarray:
        """``column`` (one value per table row) with its rows in grouped order."""
        return column if self.sort is None else column[self.sort]

    @cached_property
    def typical_step(self) -> float | None:
        """The median time difference between an id's consecutive rows (nanoseconds for dates);
        None without times or without two rows in any id."""
        if self.when is None:
            return None
        gaps = np.diff(self.when)[np.diff(self.codes) == 0]
        return float(np.median(gaps, overwrite_input=True)) if gaps.size else None

    @property
    def lengths(self) -> np.ndarray:
        """Rows of each id, in ``names`` order."""
        return np.bincount(self.codes, minlength=len(self.names)).astype(np.int64)


def filled_column(table: Table, name: str, role: str) -> pd.Series:
    """The column ``name``, refused when a cell is empty (naming its line)."""
    column = table.column(name, role)
    empty = column.isna().to_numpy()
    if empty.any():
        raise DataError(
            f"{table.path}: column '{name}' is empty at {table.where(int(np.argmax(empty)))}; "
            "every row needs it"
        )
    return column


def group_rows(table: Table, id_col: str, time_col: str | None) -> Grouped:
    """The table's rows by id (ids in order of first appearance), each id's rows in time order."""
    ids = filled_column(table, id_col, "--id-col")
    factorized, uniques = pd.factorize(ids, sort=False)
    codes = factorized.astype(np.int32)  # half the memory of factorize's int64
    del factorized
    names = np.asarray(uniques)
    step = np.diff(codes)
    if time_col is None:
        if np.all(step >= 0):
            return Grouped(None, codes, names, None, False)
        order = np.argsort(codes, kind="stable")
        return Grouped(order, codes[order], names, None, False)
    when, datetimes, dayfirst = _times(table, time_col)
    later = np.diff(when)
    sort: np.ndarray | None = None  # written id by id, in time order: no sort, no gather
    if not np.all((step > 0) | ((step == 0) & (later >= 0))):
        sort = np.lexsort((np.arange(len(codes)), when, codes))
        codes, when = codes[sort], when[sort]
        step, later = np.diff(codes), np.diff(when)
    same = (step == 0) & (later == 0)
    del step, later
    if same.any():
        i = int(np.argmax(same))
        order = np.arange(len(codes)) if sort is None else sort
        first, second = sorted((int(order[i]), int(order[i + 1])))
        raise DataError(
            f"{table.path}: id '{names[codes[i]]}' has time "
            f"'{table.column(time_col, '--time-col').iloc[first]}' twice ("
            f"{table.where(first)} and {table.where(second)}); each (id, time) must be one row"
        )
    return Grouped(sort, codes, names, when, datetimes, dayfirst)


def _times(table: Table, time_col: str) -> tuple[np.ndarray, bool, bool | None]:
    """The time column as float64 (datetimes as nanoseconds), whether they are datetimes, and
    the day order dates were read in."""
    given = table.frame[time_col]
    if pd.api.types.is_datetime64_any_dtype(given) and not given.isna().any():  # Parquet
        return pd.DatetimeIndex(given).as_unit("ns").asi8.astype(np.float64), True, None
    if pd.api.types.is_numeric_dtype(given) and not given.isna().any():  # read typed
        return given.to_numpy(dtype=np.float64), False, None
    if isinstance(given.dtype, pd.CategoricalDtype):  # read typed: parse each distinct time once
        return _category_times(table, time_col, given)
    times, dayfirst = read_times(table, time_col)
    if isinstance(times, pd.DatetimeIndex):
        return times.as_unit("ns").asi8.astype(np.float64), True, dayfirst
    return np.asarray(times, dtype=np.float64), False, None


def _category_times(
    table: Table, time_col: str, given: pd.Series
) -> tuple[np.ndarray, bool, bool | None]:
    """:func:`_times` of a column read as categories: its distinct values parsed (a problem is
    found again, with its line, by the caller's exact read)."""
    codes = given.cat.codes.to_numpy()
    if (codes < 0).any():
        raise DataError(f"{table.path}: column '{time_col}' has an empty time")
    distinct = pd.DataFrame({time_col: np.asarray(given.cat.categories.astype(str), dtype=object)})
    lines = np.arange(len(distinct), dtype=np.int64)
    parsed, dayfirst = read_times(Table(table.path, distinct, lines, ",", "."), time_col)
    if isinstance(parsed, pd.DatetimeIndex):
        return parsed.as_unit("ns").asi8.astype(np.float64)[codes], True, dayfirst
    return np.asarray(parsed, dtype=np.float64)[codes], False, None
