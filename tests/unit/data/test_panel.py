"""Many series from a long table (:mod:`automl_rnn.data.panel`): grouping and time order, per
series splits, windows that never cross series, no leakage from validation or test rows,
per-window scaling, per-series scores, and the refusals, each with its one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.build import build
from automl_rnn.data.generators import panel_table
from automl_rnn.data.panel_data import PanelData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, DataError
from automl_rnn.export import runtime

FLAGS = {"id_col": "series", "time_col": "date", "target": "sales"}


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def panel(path: Path, **flags: object) -> PanelData:
    data = build(DataSource.from_args({"data": str(path), **FLAGS, **flags}))
    assert isinstance(data, PanelData)
    return data


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(panel_table(12, (60, 120), seed=3))


@pytest.fixture
def data(table: pd.DataFrame, tmp_path: Path) -> PanelData:
    shuffled = table.sample(frac=1.0, random_state=0)
    return panel(write(shuffled, tmp_path / "p.csv"), features="price", static_features="size")


def test_each_id_is_one_series_in_time_order_whatever_the_row_order(
    table: pd.DataFrame, data: PanelData
) -> None:
    lengths = table.groupby("series").size()
    assert sorted(data.ids) == sorted(lengths.index)
    for i, name in enumerate(data.ids):
        rows = slice(data.offsets[i], data.offsets[i + 1])
        expected = table[table["series"] == name].sort_values("date")["sales"].to_numpy()
        assert np.array_equal(data.targets[rows], expected)
        assert np.all(np.diff(data.when[rows]) > 0)  # type: ignore[index]
    summary = data.summary()
    assert summary["series"] == 12 and summary["season"] == 7 and summary["horizon"] == 7
    assert summary["lengths"] == {
        "min": int(lengths.min()), "median": float(lengths.median()), "max": int(lengths.max())
    }  # fmt: skip


def test_validation_and_test_are_the_last_steps_of_each_series(data: PanelData) -> None:
    h = data.horizon
    ends = data.offsets[1:]
    assert np.array_equal(data.starts("test"), ends - h)
    assert np.array_equal(data.starts("val"), ends - 2 * h)
    train = data.starts("train", 14)
    series = data.series_of(train)
    # every training window's targets end before its series' validation part
    assert np.all(train + h <= data.offsets[series] + data.train_len[series])
    assert len(train) == int(np.sum(data.train_len - h + 1 - 14))


def test_windows_never_cross_into_another_series(data: PanelData) -> None:
    seq_len = data.max_seq_len
    for split in ("train", "val", "test"):
        starts = data.starts(split, seq_len)
        series = data.series_of(starts)
        first_input = starts - seq_len
        last_target = starts + data.horizon - 1
        assert np.all(data.series_of(first_input) == series)
        assert np.all(data.series_of(last_target) == series)


def test_a_poisoned_validation_or_test_part_changes_no_training_batch(
    table: pd.DataFrame, data: PanelData, tmp_path: Path
) -> None:
    """The last 2 horizons of every series (validation, test) set to 1e6, covariates too: every
    training window, its scaling and the covariates' statistics are unchanged."""
    h = data.horizon
    poisoned = table.sort_values(["series", "date"]).copy()
    position = poisoned.groupby("series").cumcount(ascending=False)
    held = position < 2 * h
    poisoned.loc[held, ["sales", "price"]] = 1e6
    other = panel(
        write(poisoned, tmp_path / "poisoned.csv"), features="price", static_features="size"
    )
    assert other.ids == tuple(sorted(data.ids, key=other.ids.index))
    order = [data.ids.index(name) for name in other.ids]
    assert np.allclose(other.mu, data.mu) and np.allclose(other.sd, data.sd)
    seq_len = 14
    mine = data.gather(data.starts("train", seq_len), seq_len)
    theirs = other.gather(other.starts("train", seq_len), seq_len)
    # the same windows, series by series in each panel's own order
    mine_by_series = np.split(mine["x"], np.cumsum(data.train_len - h + 1 - seq_len)[:-1])
    theirs_by_series = np.split(theirs["x"], np.cumsum(other.train_len - h + 1 - seq_len)[:-1])
    for j, i in enumerate(order):
        assert np.array_equal(theirs_by_series[j], mine_by_series[i])


def test_a_windows_scaling_comes_from_the_window_alone(data: PanelData) -> None:
    seq_len, start = 14, data.starts("train", 14)[40:41]
    before = data.gather(start, seq_len)
    rows = np.r_[0 : start[0] - seq_len, start[0] : len(data.targets)]
    data._inputs32[rows, 0] *= 50.0  # everything outside the window's inputs
    after = data.gather(start, seq_len)
    assert np.array_equal(before["x"], after["x"])
    assert np.array_equal(before["loc"], after["loc"]) and np.array_equal(
        before["scale"], after["scale"]
    )
    target = before["x"][0, :, 0]
    assert abs(float(target.mean())) < 1e-5 and abs(float(target.std()) - 1.0) < 1e-4


def test_an_all_zero_window_is_scaled_by_one(tmp_path: Path) -> None:
    frame = pd.DataFrame(panel_table(3, (60, 60), seed=1))
    frame.loc[frame.index[:30], "sales"] = 0.0
    data = panel(write(frame, tmp_path / "z.csv"), horizon=3)
    batch = data.gather(np.array([20]), 10)
    assert batch["scale"][0, 0, 0] == 1.0 and batch["loc"][0, 0, 0] == 0.0


def test_seq2seq_targets_at_the_last_step_are_the_forecast_windows_targets(data: PanelData) -> None:
    starts = data.starts("train", 14)[::50]
    one = data.gather(starts, 14)
    every = data.gather(starts, 14, per_step=True)  # [B, T, L]
    assert np.allclose(every["y"][:, -1, :], one["y"][..., 0])
    # step t's horizon starts right after input step t
    t = 5
    raw = data.targets[(starts - 14 + t + 1)[:, None] + np.arange(data.horizon)]
    scaled = (raw - one["loc"][:, 0]) / one["scale"][:, 0]
    assert np.allclose(every["y"][:, t, :], scaled, atol=1e-5)


def test_loaders_hold_window_indices_not_windows(data: PanelData) -> None:
    loaders = data.loaders("seq2vec", 28, 16)
    dataset = loaders.train.dataset
    assert set(dataset.tensors) == {"start"}  # type: ignore[attr-defined]
    batch = next(iter(loaders.val))
    assert batch["x"].shape == (12, 28, 3) and batch["y"].shape == (12, 7, 1)


def test_scores_are_per_series_then_aggregated(data: PanelData) -> None:
    y = data.targets_of("test")
    perfect = data.score("test", y)
    assert perfect["test_mae"] == 0 and perfect["test_rel_mae"] == 0
    assert perfect["test_beats_snaive_share"] == 1.0 and perfect["test_series"] == 12
    snaive = data.baseline_forecasts("test")["snaive"]
    same = data.score("test", snaive)
    assert same["test_rel_mae"] == pytest.approx(1.0) and same["test_beats_snaive_share"] == 0.0
    # half the series perfect, half seasonal naive: the share and MASE by hand
    mixed = np.where(np.arange(12)[:, None] < 6, y, snaive)
    scores = data.score("test", mixed)
    assert scores["test_beats_snaive_share"] == pytest.approx(0.5)
    by_hand = []
    for i in range(12):
        rows = data.targets[data.offsets[i] : data.offsets[i] + data.train_len[i]]
        scale = np.mean(np.abs(rows[7:] - rows[:-7]))
        by_hand.append(np.mean(np.abs(y[i] - mixed[i])) / scale)
    assert scores["test_mase"] == pytest.approx(np.mean(by_hand))
    assert scores["test_mase_median"] == pytest.approx(np.median(by_hand))


def test_the_best_median_and_worst_series_are_named_by_index(data: PanelData) -> None:
    """Series 4 forecast perfectly, 9 twice as far off as seasonal naive, the others as seasonal
    naive: the best is 4, the worst 9, the median one of the ten at rel_mae 1."""
    y = data.targets_of("test")
    snaive = data.baseline_forecasts("test")["snaive"]
    forecast = snaive.copy()
    forecast[4] = y[4]
    forecast[9] = y[9] + 2 * (snaive[9] - y[9])
    scores = data.score("test", forecast)
    assert scores["test_rel_mae_best_series"] == 4.0 and scores["test_rel_mae_best"] == 0.0
    assert scores["test_rel_mae_worst_series"] == 9.0
    assert scores["test_rel_mae_worst"] == pytest.approx(2.0)
    assert int(scores["test_rel_mae_median_series"]) not in (4, 9)
    assert scores["test_rel_mae_median"] == pytest.approx(1.0)


def test_short_series_are_left_out_and_said_so(table: pd.DataFrame, tmp_path: Path) -> None:
    short = pd.DataFrame(
        {"series": "tiny", "date": pd.date_range("2023-01-01", periods=10), "sales": 1.0,
         "price": 1.0, "size": 1.0}
    )  # fmt: skip
    short.loc[3, "sales"] = 2.0
    data = panel(write(pd.concat([table, short]), tmp_path / "s.csv"))
    assert "tiny" not in data.ids and len(data.ids) == 12
    assert any("1 series shorter than" in note and "'tiny'" in note for note in data.notes)


def test_csv_and_parquet_give_the_same_panel(table: pd.DataFrame, tmp_path: Path) -> None:
    csv = panel(write(table, tmp_path / "p.csv"), features="price", kind="forecast")
    table.to_parquet(tmp_path / "p.parquet")
    parquet = panel(tmp_path / "p.parquet", features="price", kind="forecast")
    assert csv.fingerprint == parquet.fingerprint


def test_runtime_scaling_of_a_history_equals_the_training_window(data: PanelData) -> None:
    from automl_rnn.export.panel_codec import _rows

    spec = {
        "type": "panel", "id_col": "series", "time_col": None, "columns": ["sales", "price", "size"],
        "targets": ["sales"], "window": 14, "level_floor": 1e-3,
        "mu": data.mu.tolist(), "sd": data.sd.tolist(),
    }  # fmt: skip
    starts = data.starts("test")
    frame = _rows(spec, data, starts)
    histories = runtime.read_panel_history(spec, frame, "t", "row")
    expected = data.gather(starts, 14)["x"]
    for history, window in zip(histories.values(), expected, strict=True):
        assert np.allclose(runtime.scale_window(spec, history.values)[0], window, atol=1e-5)


# ---- refusals: one line naming the file, column, id and row ------------------------------------


def refused(frame: pd.DataFrame | str, tmp_path: Path, **flags: object) -> str:
    path = tmp_path / "bad.csv"
    if isinstance(frame, str):
        path.write_text(frame)
    else:
        write(frame, path)
    with pytest.raises((DataError, ConfigError)) as err:
        panel(path, **flags)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_an_id_with_one_row_is_refused(table: pd.DataFrame, tmp_path: Path) -> None:
    lone = pd.DataFrame({"series": ["lone"], "date": [pd.Timestamp("2023-05-01")], "sales": [3.0]})
    message = refused(pd.concat([table, lone]), tmp_path)
    assert "id 'lone' (column 'series') has one row" in message


def test_a_target_that_is_all_one_value_is_refused(table: pd.DataFrame, tmp_path: Path) -> None:
    message = refused(table.assign(sales=5.0), tmp_path)
    assert "column 'sales' (--target) is 5 in every row" in message


def test_a_static_feature_that_changes_within_an_id_is_refused(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    changed = table.copy()
    changed.loc[10, "size"] = changed.loc[10, "size"] + 1
    message = refused(changed, tmp_path, static_features="size")
    assert "static feature 'size' changes within id 's0000'" in message and "line" in message


def test_a_repeated_id_and_time_is_refused_with_both_lines(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    message = refused(pd.concat([table, table.iloc[[5]]]), tmp_path)
    when = table["date"].iloc[5].date()
    assert f"id 's0000' has time '{when}' twice (line 7 and line 1000)" in message


def test_a_text_feature_is_refused_naming_its_line(table: pd.DataFrame, tmp_path: Path) -> None:
    bad = table.astype({"price": object})
    bad.loc[4, "price"] = "cheap"
    message = refused(bad, tmp_path, features="price")
    assert "column 'price' has non-numeric value 'cheap' at line 6" in message


def test_an_empty_target_cell_is_refused_naming_id_and_line(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    bad = table.copy()
    bad.loc[8, "sales"] = np.nan
    assert "column 'sales' is empty at line 10 (id 's0000')" in refused(bad, tmp_path)


def test_series_all_too_short_are_refused(table: pd.DataFrame, tmp_path: Path) -> None:
    message = refused(table, tmp_path, horizon=40)
    assert "every series is too short to forecast 40 step(s)" in message


def test_an_empty_file_and_a_false_parquet_are_refused(tmp_path: Path) -> None:
    assert "empty" in refused("", tmp_path)
    fake = tmp_path / "fake.parquet"
    fake.write_text("series,date,sales\n")
    with pytest.raises(DataError, match=r"fake\.parquet is not a Parquet file"):
        panel(fake)


def test_panel_flags_that_do_not_fit_are_refused_before_reading() -> None:
    for flags, words in (
        ({"target": "a,b"}, "one --target column"),
        ({"static_features": "sales"}, "has two roles"),
        ({"missing": "drop"}, "--missing drop would leave holes in many series"),
    ):
        with pytest.raises(ConfigError, match=words):
            DataSource.from_args({"data": "x.csv", **FLAGS, **flags})
    with pytest.raises(ConfigError, match="--static-features applies to long tables"):
        DataSource.from_args({"data": "x.csv", "target": "y", "static_features": "s"})


def test_a_repeated_time_in_a_file_written_in_order_is_refused_too(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    """A file written id by id in time order skips the sort; its repeated (id, time) is still
    found, with both lines."""
    tidy = table.sort_values(["series", "date"]).reset_index(drop=True)
    doubled = pd.concat([tidy.iloc[:6], tidy.iloc[[5]], tidy.iloc[6:]])
    when = tidy["date"].iloc[5].date()
    assert f"id 's0000' has time '{when}' twice (line 7 and line 8)" in refused(doubled, tmp_path)


def test_a_repeated_time_in_a_shuffled_table_names_its_own_id(tmp_path: Path) -> None:
    """The refusal named the id of the row at that position in grouped order, not of the
    repeated row: 'a' for a time repeated in 'c' (a real bug, found making the identity order
    lazy)."""
    rows = [{"series": s, "date": f"2020-01-{d:02d}", "sales": float(d)}
            for s in ("a", "b", "c") for d in range(1, 29)]  # fmt: skip
    frame = pd.DataFrame(rows)
    twice = frame[(frame["series"] == "c") & (frame["date"] == "2020-01-05")]
    shuffled = pd.concat([frame, twice]).sample(frac=1.0, random_state=0)
    message = refused(shuffled, tmp_path)
    assert "id 'c' has time '2020-01-05' twice (line 15 and line 37)" in message


@pytest.mark.parametrize("freq", ["D", "MS"], ids=["daily", "monthly"])
def test_a_skipped_step_inside_a_series_is_refused_by_id_and_dates(
    tmp_path: Path, freq: str
) -> None:
    """A missing date would make a window read two steps as one; months count by the calendar
    (28-31 days apart is one step, two months apart is a gap)."""
    rows = []
    for name in ("a", "b", "c"):
        for i, when in enumerate(pd.date_range("2020-01-01", periods=60, freq=freq)):
            if name == "b" and i in (30, 31):
                continue  # b skips two steps
            rows.append({"series": name, "date": when.strftime("%Y-%m-%d"), "sales": i % 7 + 1.0})
    frame = pd.DataFrame(rows)
    with pytest.raises(DataError) as refused:
        panel(write(frame, tmp_path / "g.csv"), horizon=3)
    message = str(refused.value)
    dates = pd.date_range("2020-01-01", periods=60, freq=freq)
    assert (
        f"id 'b' skips 2 time step(s) between '{dates[29]:%Y-%m-%d}' and '{dates[32]:%Y-%m-%d}'"
        in message
    )
    assert "line 92" in message  # b's rows start at line 62; its 31st row (dates[32]) is line 92
    whole = frame[frame["series"] != "b"]
    assert len(panel(write(whole, tmp_path / "ok.csv"), horizon=3).ids) == 2
