"""Reading a user's CSV: delimiter, decimal comma, time parsing and sorting, duplicates, season."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data import prepare
from automl_rnn.data.csvread import parse_times, read_table
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.series import read_series
from automl_rnn.data.source import DataSource
from automl_rnn.errors import DataError


def _rows(n: int, start: str = "2022-01-01", freq: str = "D") -> list[tuple[str, float, float]]:
    times = pd.date_range(start, periods=n, freq=freq)
    t = np.arange(n)
    y = 100 + 10 * np.sin(2 * np.pi * t / 7) + 0.1 * t
    return [(str(ts.date()), round(float(v), 3), round(20 + (i % 5) * 0.5, 2))
            for i, (ts, v) in enumerate(zip(times, y))]  # fmt: skip


def _write(path: Path, rows: list[tuple[str, float, float]], sep: str, decimal: str = ".") -> Path:
    def num(v: float) -> str:
        return str(v).replace(".", decimal)

    text = sep.join(["date", "sales", "temp"]) + "\n"
    text += "".join(sep.join([d, num(a), num(b)]) + "\n" for d, a, b in rows)
    path.write_text(text)
    return path


def _prepare(path: Path, **flags: object) -> ForecastData:
    args = {"data": str(path), "target": "sales", "time_col": "date", **flags}
    data = prepare(DataSource.from_args(args))
    assert isinstance(data, ForecastData)
    return data


@pytest.mark.parametrize(("sep", "decimal"), [(",", "."), (";", "."), ("\t", "."), (";", ",")])
def test_delimiter_and_decimal_are_detected(tmp_path: Path, sep: str, decimal: str) -> None:
    rows = _rows(120)
    path = _write(tmp_path / "sales.csv", rows, sep, decimal)
    table = read_table(path)
    assert table.delimiter == sep and table.decimal == decimal
    data = _prepare(path, features="temp")
    np.testing.assert_allclose(data.values[:, 0], [r[1] for r in rows])
    np.testing.assert_allclose(data.values[:, 1], [r[2] for r in rows])


def test_rows_are_sorted_by_time(tmp_path: Path) -> None:
    rows = _rows(120)
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    data = _prepare(_write(tmp_path / "s.csv", shuffled, ","))
    np.testing.assert_allclose(data.values[:, 0], [r[1] for r in rows])
    assert any("sorted" in note for note in data.notes)
    assert data.season == 7  # daily data


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["2024-01-31", "2024-02-01"], ["2024-01-31", "2024-02-01"]),
        (["31/01/2024", "01/02/2024"], ["2024-01-31", "2024-02-01"]),  # day first
        (["Jan 31, 2024", "Feb 1, 2024"], ["2024-01-31", "2024-02-01"]),
        (["20240131", "20240201"], ["2024-01-31", "2024-02-01"]),
    ],
)
def test_time_formats(tmp_path: Path, stamps: list[str], expected: list[str]) -> None:
    path = tmp_path / "t.csv"
    path.write_text("when,y\n" + "".join(f'"{s}",{i}\n' for i, s in enumerate(stamps)))
    series = read_series(path, ("y",), "when", ())
    assert [str(t.date()) for t in series.times] == expected


def _monthly(path: Path, months: int, fmt: str) -> Path:
    stamps = pd.date_range("2019-01-01", periods=months, freq="MS").strftime(fmt)
    path.write_text("month,y\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps)))
    return path


def test_a_monthly_series_written_day_first_is_read_day_first(tmp_path: Path) -> None:
    # Every day is 01, so month-first reads every row too: as the 1st-12th of each January.
    series = read_series(_monthly(tmp_path / "m.csv", 36, "%d/%m/%Y"), ("y",), "month", ())
    assert [str(t.date()) for t in series.times[:3]] == ["2019-01-01", "2019-02-01", "2019-03-01"]
    assert series.dayfirst is True


def test_a_given_day_order_is_used_and_a_month_first_series_stays_month_first(
    tmp_path: Path,
) -> None:
    table = read_table(_monthly(tmp_path / "h.csv", 6, "%d/%m/%Y"))  # prediction: order given
    assert str(parse_times(table, "month", dayfirst=True)[1].date()) == "2019-02-01"
    assert str(parse_times(table, "month", dayfirst=False)[1].date()) == "2019-01-02"
    us = read_series(_monthly(tmp_path / "us.csv", 36, "%m/%d/%Y"), ("y",), "month", ())
    assert str(us.times[1].date()) == "2019-02-01" and us.dayfirst is False
    iso = read_series(_monthly(tmp_path / "iso.csv", 36, "%Y-%m-%d"), ("y",), "month", ())
    assert str(iso.times[1].date()) == "2019-02-01" and iso.dayfirst is None  # nothing to guess


def test_duplicated_timestamp_is_refused(tmp_path: Path) -> None:
    rows = _rows(60)
    rows.insert(11, (rows[10][0], 1.0, 2.0))
    path = _write(tmp_path / "dup.csv", rows, ",")
    with pytest.raises(DataError, match=r"duplicated timestamp '2022-01-11' at lines 12 and 13"):
        _prepare(path)


def test_skipped_time_steps_become_missing_values(tmp_path: Path) -> None:
    rows = _rows(90)
    del rows[40]  # one day absent from the file
    data = _prepare(_write(tmp_path / "gap.csv", rows, ","))
    assert data.n == 90
    assert any("1 skipped time steps" in note for note in data.notes)
    full = _rows(90)
    expected = (full[39][1] + full[41][1]) / 2  # linear interpolation of the absent day
    assert data.values[40, 0] == pytest.approx(expected)


@pytest.mark.parametrize(("freq", "season"), [("h", 24), ("D", 7), ("W-SAT", 52), ("MS", 12)])
def test_season_from_frequency(tmp_path: Path, freq: str, season: int) -> None:
    times = pd.date_range("2000-01-01", periods=400, freq=freq)
    values = np.sin(np.arange(400) / 3.0) + np.arange(400) * 0.01
    path = tmp_path / "f.csv"
    path.write_text("t,y\n" + "".join(f"{t.isoformat()},{v:.5f}\n" for t, v in zip(times, values)))
    data = prepare(DataSource.from_args({"data": str(path), "target": "y", "time_col": "t",
                                         "horizon": 4}))  # fmt: skip
    assert data.season == season


def test_season_from_autocorrelation_without_time(tmp_path: Path) -> None:
    t = np.arange(300)
    values = 5 * np.sin(2 * np.pi * t / 10) + np.random.default_rng(0).normal(0, 0.3, 300)
    path = tmp_path / "a.csv"
    path.write_text("y\n" + "".join(f"{v:.4f}\n" for v in values))
    data = prepare(DataSource.from_args({"data": str(path), "target": "y"}))
    assert data.season == 10 and data.horizon == 10


def test_non_numeric_value_names_column_and_line(tmp_path: Path) -> None:
    rows = _rows(40)
    path = _write(tmp_path / "bad.csv", rows, ";")
    text = path.read_text().splitlines()
    text[7] = text[7].replace(str(rows[6][1]), "12x")
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"column 'sales' has non-numeric value '12x' at line 8"):
        _prepare(path)


def test_unknown_column_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", _rows(40), ",")
    with pytest.raises(DataError, match=r"no column 'sale' .*did you mean 'sales'"):
        prepare(DataSource.from_args({"data": str(path), "target": "sale"}))
