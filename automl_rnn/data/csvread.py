"""Reading a user's CSV: detect delimiter and decimal comma, refuse empty or binary files, and turn
columns into numbers or times with one-line errors that name the file, column and line."""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from automl_rnn.errors import DataError, closest, read_file

PARQUET_MAGIC = b"PAR1"
NA_TOKENS = ["", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "?"]
_COMMA_DECIMAL = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")
_CONTROL = set(range(32)) - {9, 10, 12, 13}


@dataclass
class Table:
    """A CSV read as strings (missing cells are NaN), with the file line of every row."""

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray
    delimiter: str
    decimal: str
    repeated: frozenset[str] = frozenset()
    """Header names that occur more than once (pandas renames the copies ``name.1``, ...)."""
    row_name: str = "line"
    """What ``lines`` count: file lines (CSV), or rows from 1 (Parquet)."""

    def column(self, name: str, role: str) -> pd.Series:
        """The column ``name`` (``role`` says which flag asked for it, e.g. ``--target``)."""
        if name in self.repeated:
            raise DataError(
                f"{self.path}: the header names column '{name}' (for {role}) more than once; "
                "rename the copies so each column has its own name"
            )
        if name not in self.frame.columns:
            cols = [str(c) for c in self.frame.columns]
            raise DataError(
                f"{self.path}: no column '{name}' for {role}{closest(name, cols)}; "
                f"columns: {', '.join(cols)}"
            )
        return self.frame[name]

    def numeric(self, name: str, role: str) -> np.ndarray:
        """Column as float64 (NaN where missing); a non-numeric cell is an error naming its line."""
        raw = self.column(name, role)
        if pd.api.types.is_float_dtype(raw):  # read typed (:func:`read_typed`)
            return raw.to_numpy(dtype=np.float64)
        text = raw.str.strip()
        if self.decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = (np.isnan(values) & raw.notna().to_numpy()) | np.isinf(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{self.path}: column '{name}' has non-numeric value {raw.iloc[i]!r} at "
                f"{self.where(i)}; fix it, or leave the cell empty to mark it missing"
            )
        return values

    def where(self, i: int) -> str:
        """``line N`` (or ``row N``) of row ``i``."""
        return f"{self.row_name} {self.lines[i]}"


def read_table(path: str | Path) -> Table:
    """Read ``path`` as a table of strings, detecting the delimiter and the decimal mark."""
    path = Path(path)
    raw = read_file(path, "data file", DataError)
    if raw.startswith(PARQUET_MAGIC):
        return _parquet_as_text(path, raw)
    if not raw.strip():
        raise DataError(f"{path} is empty; give a CSV with a header row and data rows")
    head = raw[:8192]
    if b"\x00" in head or sum(b in _CONTROL for b in head) > 0.05 * len(head):
        raise DataError(f"{path} is a binary file, not a text CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    delimiter = _delimiter([line for line in lines[:60] if line.strip()])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_values=NA_TOKENS,
            skipinitialspace=True,
            engine="c",
        )
    except pd.errors.ParserError as err:
        detail = str(err).strip().splitlines()[-1].removeprefix("Error tokenizing data. C error: ")
        raise DataError(
            f"{path}: malformed CSV ({detail}); every row needs the header's columns"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty; give a CSV with a header row and data rows") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{path} has a header but no data rows")
    frame = frame.apply(lambda col: col.str.strip()).replace("", np.nan)
    data_lines = [i + 1 for i, line in enumerate(lines) if line.strip()][1:]
    row_lines = np.asarray(
        data_lines if len(data_lines) == len(frame) else np.arange(len(frame)) + 2, dtype=np.int64
    )
    header = next(csv.reader([next(line for line in lines if line.strip())], delimiter=delimiter))
    names = [name.strip() for name in header]
    repeated = frozenset(name for name in names if names.count(name) > 1)
    return Table(path, frame, row_lines, delimiter, _decimal(frame, delimiter), repeated)


def read_typed(
    path: str | Path, text: tuple[str, ...], numbers: tuple[str, ...], times: str | None = None
) -> Table | None:
    """The fast read of a large file: only the columns named, by Arrow's multi-threaded CSV
    reader, ``numbers`` as float64, ``text`` and ``times`` as categories of strings (ids '12' and
    '012' stay two ids; a time column that looks numeric, a step index, is read as numbers).
    None when the file is not a plain comma-separated UTF-8 table holding each column once as
    asked, or when a number does not parse: then :func:`read_table` reads it (and names the
    problem's line). Row lines assume no blank lines: a caller that finds a problem re-reads
    with :func:`read_table`."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig") as handle:
            head = [line for _, line in zip(range(60), handle) if line.strip()]
    except (OSError, UnicodeDecodeError):
        return None
    if not head or _delimiter(head) != ",":
        return None
    names = [name.strip() for name in next(csv.reader(head[:1]))]
    wanted = [*text, *numbers, *([times] if times else [])]
    if any(names.count(name) != 1 for name in wanted):
        return None
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    words = pa.dictionary(pa.int32(), pa.string())
    types = {name: words for name in text} | {name: pa.float64() for name in numbers}
    if times is not None:
        types[times] = pa.float64() if _numeric_in(head[1:], names.index(times)) else words
    try:
        arrow = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            memory_pool=pa.system_memory_pool(),
            convert_options=pa_csv.ConvertOptions(
                include_columns=wanted, column_types=types, null_values=NA_TOKENS,
                strings_can_be_null=True, quoted_strings_can_be_null=True,
            ),
        )  # fmt: skip
    except (pa.ArrowException, OSError):
        return None
    columns = {}
    for name in wanted:  # one column at a time, each freed once converted
        columns[name] = arrow.column(name).to_pandas()
        arrow = arrow.drop_columns([name])
    del arrow
    _release_freed()
    frame = pd.DataFrame(columns, copy=False)
    if frame.empty or any(_padded(frame[name]) for name in text):
        return None  # spaces around a text value: the exact reader strips them
    lines = np.arange(len(frame), dtype=np.int64) + 2
    return Table(path, frame, lines, ",", ".")


def _release_freed() -> None:
    """Hand the memory the Arrow reader's threads freed back to the system (glibc keeps it in
    their arenas, where the main thread's arrays cannot reuse it); elsewhere nothing."""
    import ctypes

    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _parquet_as_text(path: Path, raw: bytes) -> Table:
    """A Parquet file as the CSV reader's table of strings (rows counted from 1 in messages), so
    every shape read from a CSV reads Parquet too (long tables read it typed: ``parquet.py``)."""
    if not raw.endswith(PARQUET_MAGIC):
        raise DataError(
            f"{path} is not a Parquet file (no PAR1 mark at its end); write it with pandas' "
            "to_parquet, or give a CSV"
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        stored = pq.read_table(pa.BufferReader(raw)).to_pandas()
    except Exception as err:  # a damaged file fails anywhere in pyarrow or pandas' metadata
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{path}: unreadable Parquet ({detail})") from None
    if stored.empty:
        raise DataError(f"{path} has columns but no rows")
    names = [str(c).strip() for c in stored.columns]
    frame = pd.DataFrame(
        {
            name: stored.iloc[:, j].astype("string").str.strip().astype(object)
            for j, name in enumerate(names)
        }
    )
    frame = frame.where(frame.notna() & (frame != ""), np.nan)
    repeated = frozenset(name for name in names if names.count(name) > 1)
    lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    return Table(path, frame, lines, ",", ".", repeated, row_name="row")


def _numeric_in(lines: list[str], column: int) -> bool:
    """Whether the cells of ``column`` in these CSV lines are all plain numbers."""
    cells = [row[column].strip() for row in csv.reader(lines) if len(row) > column]
    return bool(cells) and all(re.fullmatch(r"[+-]?\d+(\.\d*)?", cell) for cell in cells)


def _padded(column: pd.Series) -> bool:
    """Whether a category column holds a value with spaces around it (few values to look at)."""
    return any(str(value) != str(value).strip() for value in column.cat.categories)


def _delimiter(lines: list[str]) -> str:
    """The delimiter among ``,`` ``;`` tab that splits every sample line into the same >1 fields."""
    best, best_fields = ",", 1
    for candidate in (",", ";", "\t"):
        counts = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        if counts and counts[0] > best_fields and all(c == counts[0] for c in counts):
            best, best_fields = candidate, counts[0]
    if best_fields == 1:  # nothing consistent: take the one splitting the header most
        header = lines[0] if lines else ""
        best = max((",", ";", "\t"), key=lambda c: len(header.split(c)))
    return best


def _decimal(frame: pd.DataFrame, delimiter: str) -> str:
    """``,`` when numbers are written ``1,5`` (and none ``1.5``), else ``.``."""
    if delimiter == ",":
        return "."
    sample = frame.head(200).stack().astype(str)
    commas = int(sample.str.match(_COMMA_DECIMAL).sum())
    dots = int(sample.str.match(_DOT_DECIMAL).sum())
    return "," if commas > 0 and dots == 0 else "."


def parse_times(
    table: Table, name: str, dayfirst: bool | None = None
) -> pd.DatetimeIndex | np.ndarray:
    """The time column as datetimes (or as numbers for a plain step index); errors name the line.

    ``dayfirst`` reads ``01/02/2024`` as 1 February (True) or 2 January (False); None guesses it
    (:func:`read_times`). Prediction passes the training data's choice, never a new guess."""
    return read_times(table, name, dayfirst)[0]


def read_times(
    table: Table, name: str, dayfirst: bool | None = None
) -> tuple[pd.DatetimeIndex | np.ndarray, bool | None]:
    """:func:`parse_times` and the day order it used (None: numbers or unambiguous formats).

    Guessing: the order that reads every row; when both do (``01/02/2024``-style dates with no day
    above 12), the one whose sorted steps are the more regular: a monthly series written day-first
    read month-first becomes the 1st-12th of January, with steps of a day and of a year."""
    raw = table.column(name, "--time-col")
    if raw.isna().any():
        i = int(np.argmax(raw.isna().to_numpy()))
        raise DataError(f"{table.path}: column '{name}' has no time at {table.where(i)}")
    text = raw.astype(str)
    if (
        text.str.fullmatch(r"[+-]?\d+(\.\d+)?").all()
        and not text.str.fullmatch(r"\d{4}|\d{8}").all()
    ):
        return text.astype(float).to_numpy(), None
    fmt = (
        "%Y%m%d"
        if text.str.fullmatch(r"\d{8}").all()
        else ("%Y" if text.str.len().eq(4).all() else None)
    )
    if dayfirst is not None:
        orders: tuple[bool, ...] = (dayfirst,)
    elif text.str.match(r"\s*\d{4}\D").all():  # year first (2024-01-31): no day order to guess
        orders = (False,)
    else:
        orders = (False, True)
    parsed = {order: _dates(text, fmt, order) for order in orders}
    chosen = min(
        orders, key=lambda o: (int(np.asarray(parsed[o].isna()).sum()), _irregularity(parsed[o]))
    )
    best = parsed[chosen]
    orders_differ = len(orders) == 2 and not parsed[False].equals(parsed[True])
    used = chosen if (dayfirst is not None or orders_differ) else None
    if best.isna().any():
        i = int(np.argmax(best.isna()))
        raise DataError(
            f"{table.path}: column '{name}' has {raw.iloc[i]!r} at {table.where(i)}, which is not a "
            "time like the rows before it; use one date format (e.g. 2024-01-31) in the column"
        )
    if best.tz is not None:
        best = best.tz_convert(None)
    return best, used


def _dates(text: pd.Series, fmt: str | None, dayfirst: bool) -> pd.DatetimeIndex:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.DatetimeIndex(
            pd.to_datetime(text, errors="coerce", dayfirst=dayfirst, format=fmt)
        )


def _irregularity(times: pd.DatetimeIndex) -> float:
    """Coefficient of variation of the sorted times' steps: about 0 for a regular series (months
    of 28-31 days: 0.03), large for a monthly series read in the wrong day order (1 day, 1 day, ...
    then 355 days)."""
    valid = times[~np.asarray(times.isna())].sort_values()
    if len(valid) < 3:
        return 0.0
    steps = np.diff(valid.asi8).astype(np.float64)
    mean = float(steps.mean())
    return float(steps.std() / mean) if mean > 0 else math.inf
