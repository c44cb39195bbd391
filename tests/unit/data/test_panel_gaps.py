"""Gaps in many series with ``--missing interpolate`` (:mod:`automl_rnn.data.panel_gaps`):
skipped steps inserted at their dates, short runs interpolated within each series' part and
never across a part's start, long runs and incomplete ends handled as one series' are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.build import build
from automl_rnn.data.panel_data import PanelData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, DataError

FLAGS = {"id_col": "series", "time_col": "date", "target": "sales", "horizon": 3}
STEPS = 60


def series(freq: str = "D") -> pd.DataFrame:
    """Three series of 60 steps, ``sales = 10 * series + step`` (straight lines: a linear
    interpolation gives the very value a gap hid), ``price`` a second straight line."""
    rows = []
    for s, name in enumerate(("a", "b", "c")):
        for i, when in enumerate(pd.date_range("2020-01-01", periods=STEPS, freq=freq)):
            rows.append(
                {"series": name, "date": when.strftime("%Y-%m-%d"), "sales": 10.0 * s + i,
                 "price": 1.0 + 0.01 * i}
            )  # fmt: skip
    return pd.DataFrame(rows)


def read(frame: pd.DataFrame, tmp_path: Path, **flags: object) -> PanelData:
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    data = build(DataSource.from_args({"data": str(path), **FLAGS, **flags}))
    assert isinstance(data, PanelData)
    return data


def rows_of(data: PanelData, name: str) -> slice:
    k = data.ids.index(name)
    return slice(int(data.offsets[k]), int(data.offsets[k + 1]))


@pytest.mark.parametrize("freq", ["D", "MS"], ids=["daily", "monthly"])
def test_skipped_steps_are_inserted_at_their_dates_and_interpolated(
    tmp_path: Path, freq: str
) -> None:
    frame = series(freq)
    holes = frame.drop(index=frame.index[(frame["series"] == "b")][[20, 21]])
    holes.loc[holes.index[holes["series"] == "c"][30], "price"] = np.nan
    data = read(holes, tmp_path, features="price", missing="interpolate")
    b, c = rows_of(data, "b"), rows_of(data, "c")
    assert data.lengths.tolist() == [STEPS] * 3
    np.testing.assert_allclose(data.values[b, 0], 10.0 + np.arange(STEPS))
    np.testing.assert_allclose(data.values[c, 1], 1.0 + 0.01 * np.arange(STEPS))
    dates = pd.DatetimeIndex(data.when[b].astype("datetime64[ns]"))
    assert dates.equals(pd.date_range("2020-01-01", periods=STEPS, freq=freq))
    assert data.fill_gap == 3
    assert data.notes[:1] == ["2 skipped time step(s) inserted as missing values"]
    assert "5 missing value(s) interpolated in 3 gap(s) (longest 2)" in data.notes  # 2 x 2 + 1


def test_a_gap_across_the_validation_start_is_never_filled_from_later_values(
    tmp_path: Path,
) -> None:
    """b's last training step and first validation step are missing: the training one is held at
    the last training value (the validation value must not reach training), the validation
    one is interpolated within its part."""
    frame = series()
    train_end = STEPS - 2 * 3  # horizon 3: validation and test are the last 3 steps each
    gone = frame.index[frame["series"] == "b"][[train_end - 1, train_end]]
    data = read(frame.assign(sales=frame["sales"].mask(frame.index.isin(gone))), tmp_path,
                missing="interpolate")  # fmt: skip
    b = data.values[rows_of(data, "b"), 0]
    assert b[train_end - 1] == b[train_end - 2] == 10.0 + train_end - 2
    assert b[train_end] == pytest.approx(10.0 + train_end)  # between its part's neighbours


def test_a_run_longer_than_max_gap_is_refused_by_id_column_and_dates(tmp_path: Path) -> None:
    frame = series()
    holes = frame.drop(index=frame.index[(frame["series"] == "a")][[10, 11, 12, 13]])
    with pytest.raises(DataError) as refused:
        read(holes, tmp_path, missing="interpolate")
    assert str(refused.value) == (
        f"{tmp_path / 'p.csv'}: id 'a' misses 4 values of column 'sales' in a row, from "
        "2020-01-11 to 2020-01-14, longer than the 3 that --missing interpolate fills; fill them "
        "in the file or raise --max-gap"
    )
    assert read(holes, tmp_path, missing="interpolate", max_gap=4).lengths.tolist() == [STEPS] * 3


def test_incomplete_ends_are_dropped_and_gaps_without_interpolate_refused(tmp_path: Path) -> None:
    frame = series()
    first_a = frame.index[frame["series"] == "a"][0]
    frame.loc[first_a, "sales"] = np.nan
    data = read(frame, tmp_path, missing="interpolate")
    assert data.lengths.tolist() == [STEPS - 1, STEPS, STEPS]
    assert "1 incomplete row(s) at the ends of series dropped" in data.notes
    with pytest.raises(DataError, match="or give --missing interpolate to fill short gaps"):
        read(frame, tmp_path)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"missing": "drop"}, "--missing drop would leave holes in many series"),
        ({"max_gap": 5}, "--max-gap applies to --missing interpolate"),
        ({"missing": "error", "max_gap": 5}, "--max-gap applies to --missing interpolate"),
    ],
)
def test_gap_flags_that_cannot_apply_to_many_series_are_refused(
    flags: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        DataSource.from_args({"data": "p.csv", **FLAGS, **flags})


def test_missing_makes_a_long_table_many_series() -> None:
    """``--missing`` is a forecast's flag: with ``--features`` it still means many series."""
    source = DataSource.from_args({"data": "p.csv", **FLAGS, "features": "price",
                                   "missing": "interpolate"})  # fmt: skip
    assert source.is_panel


def test_predict_is_told_the_gap_training_filled(tmp_path: Path) -> None:
    """The exported model fills a history's gaps of up to ``--max-gap`` as training did
    (``export/runtime/gaps.py``); trained refusing gaps, it refuses them too."""
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.config.hparams import Hyperparams
    from automl_rnn.export import panel_codec

    frame = series()
    for flags, gap in (({"missing": "interpolate", "max_gap": 5}, 5), ({}, 0)):
        data = read(frame, tmp_path, **flags)
        spec = ExperimentSpec(data=str(tmp_path / "p.csv"), **FLAGS, **flags)  # type: ignore[arg-type]
        pre = panel_codec.describe(spec, data, Hyperparams(seq_len=12))
        assert pre["input"]["fill_gap"] == gap
