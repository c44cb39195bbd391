"""--missing interpolate | drop | error, and interpolation that never looks across a split's end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl_rnn.data import prepare
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.missing import fill_causal
from automl_rnn.data.source import DataSource
from automl_rnn.errors import DataError

N = 80


def _write(path: Path, gaps: list[range]) -> Path:
    """Daily series y = 2 * i + (i % 7); cells in ``gaps`` (row indices) left empty."""
    empty = {i for gap in gaps for i in gap}
    lines = ["date,y"]
    for i in range(N):
        day = np.datetime64("2020-01-01") + i
        lines.append(f"{day},{'' if i in empty else 2 * i + i % 7}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _prepare(path: Path, **flags: object) -> ForecastData:
    args = {"data": str(path), "target": "y", "time_col": "date", "horizon": 3, **flags}
    data = prepare(DataSource.from_args(args))
    assert isinstance(data, ForecastData)
    return data


def test_interpolate_fills_short_gaps_and_counts_them(tmp_path: Path) -> None:
    data = _prepare(_write(tmp_path / "a.csv", [range(10, 12), range(30, 33)]))
    assert data.n == N
    # row 10, 11 between y9 = 20 and y12 = 29: linear steps of 3
    assert data.values[10:12, 0].tolist() == pytest.approx([23.0, 26.0])
    assert "interpolated 5 missing values in 2 gaps (longest 3)" in data.notes


def test_gap_longer_than_the_bound_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.csv", [range(20, 24), range(40, 50)])
    with pytest.raises(DataError, match=r"column 'y' has a gap of 4 missing values from line 22"):
        _prepare(path)
    assert _prepare(path, max_gap=10).n == N  # a larger bound accepts both


def test_drop_removes_incomplete_rows(tmp_path: Path) -> None:
    data = _prepare(_write(tmp_path / "c.csv", [range(20, 24)]), missing="drop")
    assert data.n == N - 4
    assert not np.isnan(data.values).any()
    assert "dropped 4 rows with missing values" in data.notes


def test_error_mode_names_column_and_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"column 'y' has a missing value at line 17"):
        _prepare(_write(tmp_path / "d.csv", [range(15, 16)]), missing="error")


def test_incomplete_rows_at_the_ends_are_trimmed(tmp_path: Path) -> None:
    data = _prepare(_write(tmp_path / "e.csv", [range(0, 2), range(N - 1, N)]))
    assert data.n == N - 3
    assert data.values[0, 0] == 2 * 2 + 2


def test_fill_causal_holds_the_last_value_at_a_split_end() -> None:
    values = np.array([1.0, 2.0, np.nan, np.nan, 5.0, 6.0])[:, None]
    # split ends at 3: row 2 belongs to part one and may not see row 4
    filled = fill_causal(values, [3, 6])
    assert filled[:, 0].tolist() == [1.0, 2.0, 2.0, 4.0, 5.0, 6.0]
    # no split end inside the gap: plain linear interpolation
    assert fill_causal(values, [6])[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
