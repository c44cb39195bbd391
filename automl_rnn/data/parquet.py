"""Reading a user's Parquet file (long tables of sequences): only the columns named, typed as
stored; a file that is not Parquet, a missing column or a text feature is one line naming the
file and the column. Rows are counted from 1 in messages (``row 7``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from automl_rnn.data.csvread import PARQUET_MAGIC, Table
from automl_rnn.errors import DataError, closest, read_file

SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str | Path) -> bool:
    """Named as Parquet, or starting with Parquet's magic bytes."""
    path = Path(path)
    if path.suffix.lower() in SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def check_parquet(path: Path) -> None:
    """Refuse (one line) a missing file, or one without Parquet's marks at its start and end."""
    read_file(path, "data file", DataError, limit=4)  # a missing or unreadable file: one line
    with path.open("rb") as handle:
        start = handle.read(4)
        handle.seek(max(0, path.stat().st_size - 4))
        end = handle.read(4)
    if not (start == PARQUET_MAGIC == end):
        raise DataError(
            f"{path} is not a Parquet file (no PAR1 marks at its start and end); write it with "
            "pandas' to_parquet, or give a CSV"
        )


def read_parquet_table(
    path: str | Path, text: tuple[str, ...], numbers: tuple[str, ...], times: str | None = None
) -> Table:
    """The named columns of a Parquet file: ``text`` as categories of strings, ``numbers`` as
    float64 (a column stored as text is refused), ``times`` as stored."""
    path = Path(path)
    check_parquet(path)
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        wanted = [*text, *numbers, *([times] if times else [])]
        missing = [name for name in wanted if name not in schema.names]
        if missing:
            raise DataError(
                f"{path}: no column '{missing[0]}'{closest(missing[0], schema.names)}; "
                f"columns: {', '.join(schema.names)}"
            )
        frame = pq.read_table(path, columns=list(dict.fromkeys(wanted))).to_pandas()
    except DataError:
        raise
    except Exception as err:  # a damaged file fails anywhere in pyarrow or pandas' metadata
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{path}: unreadable Parquet ({detail})") from None
    for name in numbers:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            raise DataError(
                f"{path}: column '{name}' is stored as {column.dtype}, not numbers; a feature "
                "column holds numbers"
            )
        frame[name] = column.astype(np.float64)
    for name in text:
        frame[name] = frame[name].astype("string").astype("category")
    return Table(
        path, frame, np.arange(1, len(frame) + 1, dtype=np.int64), ",", ".", row_name="row"
    )
