"""Parquet for the shapes read as a table of strings (one forecast series, text classification,
text pairs, a row of numbers to a text): the same data as the CSV of the same table, and its
problems named by row (:func:`automl_rnn.data.csvread.read_table`)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.build import build
from automl_rnn.data.csvread import read_table
from automl_rnn.data.parquet import read_parquet_table
from automl_rnn.data.source import DataSource
from automl_rnn.errors import DataError
from tests.unit.data.test_text_pairs import pairs


def both(frame: pd.DataFrame, tmp_path: Path, flags: dict[str, object]) -> tuple[str, str]:
    """The fingerprints of ``frame`` read from a CSV and from a Parquet file of one name."""
    (tmp_path / "csv").mkdir()
    (tmp_path / "pq").mkdir()
    frame.to_csv(tmp_path / "csv" / "data", index=False)
    frame.to_parquet(tmp_path / "pq" / "data", index=False)
    found = [
        build(DataSource.from_args({"data": str(tmp_path / part / "data"), **flags})).fingerprint
        for part in ("csv", "pq")
    ]
    return found[0], found[1]


def monthly() -> pd.DataFrame:
    """Ten years of a seasonal monthly series with a price, dates stored as timestamps."""
    months = pd.date_range("2010-01-01", periods=120, freq="MS")
    t = np.arange(120)
    return pd.DataFrame({
        "month": months, "sales": np.round(100 + t + 20 * np.sin(2 * np.pi * t / 12), 2),
        "price": np.round(5 + np.cos(t / 7), 3),
    })  # fmt: skip


def test_a_forecast_series_reads_the_same_from_parquet(tmp_path: Path) -> None:
    flags = {"target": "sales", "time_col": "month", "features": "price", "horizon": 6}
    from_csv, from_parquet = both(monthly(), tmp_path, flags)
    assert from_csv == from_parquet


def test_text_classification_and_text_pairs_read_the_same_from_parquet(tmp_path: Path) -> None:
    frame = pairs()
    frame["label"] = np.where(frame["digits"].str.len() > 2, "long", "short")
    for name, flags in {
        "classes": {"text_col": "spoken", "target": "label"},
        "pairs": {"text_col": "spoken", "target_text_col": "digits"},
    }.items():
        (tmp_path / name).mkdir()
        from_csv, from_parquet = both(frame, tmp_path / name, flags)
        assert from_csv == from_parquet, name


def test_a_parquet_tables_problems_are_named_by_row(tmp_path: Path) -> None:
    frame = monthly().astype({"price": object})
    frame.loc[6, "price"] = "cheap"
    frame["price"] = frame["price"].astype(str)
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    table = read_table(tmp_path / "m.parquet")
    assert table.where(6) == "row 7"
    with pytest.raises(DataError, match=r"'price'.*row 7"):
        table.numeric("price", "--features")


def test_a_truncated_parquet_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    monthly().to_parquet(path, index=False)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="is not a Parquet file"):
        read_table(path)


def test_a_gap_in_a_parquet_series_is_named_by_row(tmp_path: Path) -> None:
    frame = monthly()
    frame.loc[40:49, "sales"] = np.nan  # ten months missing: longer than any filled gap
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    source = {"data": str(tmp_path / "m.parquet"), "target": "sales", "time_col": "month"}
    with pytest.raises(DataError, match=r"row 41\b"):
        build(DataSource.from_args(source))


def damaged(raw: bytes, seed: int, count: int) -> Iterator[bytes]:
    """``count`` copies of a Parquet file with 1-8 bytes changed (its PAR1 marks kept), seeded."""
    rng = random.Random(seed)
    for _ in range(count):
        copy = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            copy[rng.randrange(4, len(copy) - 4)] = rng.randrange(256)
        yield bytes(copy)


@pytest.mark.parametrize("reader", ["table of strings", "long table"])
def test_a_damaged_parquet_file_is_one_line_never_a_traceback(tmp_path: Path, reader: str) -> None:
    """Damage found to escape as pyarrow's ``ArrowNotImplementedError`` (a long table) and
    pandas' ``KeyError`` on its metadata (a table of strings) before these readers caught any
    failure of the file."""
    frame = pd.DataFrame({
        "id": ["a"] * 60 + ["b"] * 60, "t": list(range(60)) * 2, "x": np.arange(120.0),
        "y": ["u", "v"] * 60,
    })  # fmt: skip
    path = tmp_path / "f.parquet"
    frame.to_parquet(path, index=False)
    raw = path.read_bytes()
    seed = 0 if reader == "table of strings" else 10
    for content in damaged(raw, seed, 400):
        path.write_bytes(content)
        with contextlib.suppress(DataError):  # read whole, or refused in one line
            if reader == "table of strings":
                read_table(path)
            else:
                read_parquet_table(path, ("id", "y"), ("x",), "t")
