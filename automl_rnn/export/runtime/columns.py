"""Reading one column of the caller's table: numbers, times or non-empty cells, each refusal one
line naming the data (``source``), the column and the row (``row``: what a row is called there,
``line`` with file line numbers as the index)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .manifest import BundleError


def where(row: str, label: Any) -> str:
    """``line 7``: a row as messages name it."""
    return f"{row} {label}"


def stripped(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with surrounding spaces taken off its column names."""
    return frame.rename(columns=lambda c: str(c).strip())


def parse_numbers(column: pd.Series, name: str, source: str, row: str) -> np.ndarray:
    """A column as float64 (NaN where empty); a cell that is not a number is an error."""
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    raw = column if numeric else column.astype(str).str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & column.notna().to_numpy() & (raw.astype(str) != "").to_numpy()
    bad |= np.isinf(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise BundleError(
            f"{source}: column '{name}' has non-numeric value {column.iloc[i]!r} at "
            f"{where(row, column.index[i])}; give numbers"
        )
    return values


def parse_times(
    column: pd.Series, kind: str, name: str, source: str, row: str, dayfirst: bool | None = None
) -> Any:
    """The time column as datetimes (``kind='datetime'``, in the training data's day order when
    it mattered) or numbers."""
    values: Any
    if kind == "number":
        values = parse_numbers(column, name, source, row)
        missing = np.isnan(values)
    else:
        if pd.api.types.is_datetime64_any_dtype(column):
            parsed = pd.DatetimeIndex(column)
        else:
            text = column.astype(str).str.strip()
            parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format="ISO8601"))
            if parsed.isna().any():
                parsed = pd.DatetimeIndex(
                    pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=bool(dayfirst))
                )
        if parsed.tz is not None:
            parsed = parsed.tz_convert(None)
        values, missing = parsed, np.asarray(parsed.isna())
    if missing.any():
        i = int(np.argmax(missing))
        raise BundleError(
            f"{source}: column '{name}' has {column.iloc[i]!r} at {where(row, column.index[i])}, "
            "which is not a time; use one format (e.g. 2024-01-31) in the column"
        )
    return values


def cells(frame: pd.DataFrame, name: str, source: str, row: str) -> pd.Series:
    """Column ``name``, every cell non-empty."""
    frame = stripped(frame)
    if name not in frame.columns:
        raise BundleError(
            f"{source}: no column '{name}'; the model reads column '{name}' "
            f"(columns given: {', '.join(map(str, frame.columns)) or 'none'})"
        )
    column = frame[name]
    empty = column.isna().to_numpy() | (column.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        raise BundleError(f"{source}: column '{name}' is empty at {where(row, column.index[i])}")
    return column


def id_names(
    spec: dict[str, Any], frame: pd.DataFrame, source: str, row: str, what: str
) -> pd.Series:
    """The id column of a long table (``spec["id_col"]``) as stripped text; a missing column or
    an empty cell is an error (``what`` says what the model does with the ids)."""
    id_col = str(spec["id_col"])
    if id_col not in frame.columns:
        raise BundleError(
            f"{source}: no column '{id_col}'; the model {what} (columns it needs: "
            f"{', '.join([id_col, *spec['columns']])})"
        )
    ids = frame[id_col]
    empty = ids.isna().to_numpy()
    if empty.any():
        label = frame.index[int(np.argmax(empty))]
        raise BundleError(f"{source}: column '{id_col}' is empty at {where(row, label)}")
    return ids.astype(str).str.strip()
