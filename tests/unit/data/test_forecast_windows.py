"""``ForecastData`` on a series whose every value says where it sits: split boundaries, each
window's inputs and targets, both scalings, and the refusals, each checked against an
independent formula (not against the code's own helpers)."""

from __future__ import annotations

import numpy as np
import pytest

from automl_rnn.data.forecast import SCALE_FLOOR, ForecastData
from automl_rnn.data.seasonality import MIN_TRAIN_WINDOWS
from automl_rnn.data.series import RawSeries
from automl_rnn.errors import ConfigError, DataError

N, H, SEASON, VAL, TEST = 60, 3, 4, 9, 6
TRAIN_END, VAL_END = N - VAL - TEST, N - TEST


def series(n: int = N, covariate: bool = True, values: np.ndarray | None = None) -> RawSeries:
    """Target ``y[i] = i + (i % 4) ** 2`` (trend + season; index recoverable) and a covariate
    ``100 * i``."""
    index = np.arange(n, dtype=float)
    target = index + (index % SEASON) ** 2 if values is None else values
    columns = np.stack([target, 100 * index], axis=1) if covariate else target[:, None]
    names = ("y", "x") if covariate else ("y",)
    return RawSeries("toy.csv", names, 1, columns, np.arange(n) + 2)


def data(n: int = N, **kwargs: object) -> ForecastData:
    raw = series(n, **kwargs)  # type: ignore[arg-type]
    return ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)


def test_each_splits_windows_have_all_their_targets_inside_that_split() -> None:
    d = data()
    seq_len = 8
    train, val, test = (d.starts(s, seq_len) for s in ("train", "val", "test"))
    assert train.tolist() == list(range(seq_len, TRAIN_END - H + 1))
    assert val.tolist() == list(range(TRAIN_END, VAL_END - H + 1))
    assert test.tolist() == list(range(VAL_END, N - H + 1))
    assert (train[-1] + H, val[-1] + H, test[-1] + H) == (TRAIN_END, VAL_END, N)


def test_a_window_reads_the_seq_len_steps_before_its_first_target_and_predicts_the_next() -> None:
    d, seq_len = data(), 8
    raw = series().values
    for split in ("train", "val", "test"):
        w = d.windows(split, seq_len, "global")
        mu, sd = raw[:TRAIN_END].mean(axis=0), raw[:TRAIN_END].std(axis=0)
        for i, start in enumerate(w["start"]):
            np.testing.assert_allclose(
                w["x"][i], (raw[start - seq_len : start] - mu) / sd, rtol=1e-5, atol=1e-5
            )
            np.testing.assert_allclose(
                w["y"][i], (raw[start : start + H, :1] - mu[:1]) / sd[:1], rtol=1e-5, atol=1e-5
            )
        assert w["x"].shape == (len(w["start"]), seq_len, 2)
        assert w["y"].shape == (len(w["start"]), H, 1)


def test_window_scaling_uses_only_the_windows_own_inputs() -> None:
    d, seq_len = data(), 8
    raw = series().values
    w = d.windows("test", seq_len, "window")
    for i, start in enumerate(w["start"]):
        inputs = raw[start - seq_len : start]
        loc = inputs.mean(axis=0)
        scale = np.maximum(inputs.std(axis=0), SCALE_FLOOR * raw[:TRAIN_END].std(axis=0))
        np.testing.assert_allclose(w["loc"][i, 0], loc[:1], rtol=1e-5)
        np.testing.assert_allclose(w["scale"][i, 0], scale[:1], rtol=1e-5)
        np.testing.assert_allclose(w["x"][i], (inputs - loc) / scale, rtol=1e-4, atol=1e-5)
        # targets in the same units: back to the original values with the window's loc/scale
        back = w["y"][i] * w["scale"][i] + w["loc"][i]
        np.testing.assert_allclose(back, raw[start : start + H, :1], rtol=1e-4)


def test_a_flat_window_is_scaled_by_a_floor_of_the_training_spread() -> None:
    values = np.arange(N, dtype=float) % 7
    values[VAL_END - 8 : VAL_END] = 3.0  # the first test window's inputs are all 3
    d = ForecastData("toy", series(values=values), horizon=H, season=SEASON, val_size=VAL,
                     test_size=TEST)  # fmt: skip
    w = d.windows("test", 8, "window")
    floor = SCALE_FLOOR * values[:TRAIN_END].std()
    assert w["scale"][0, 0, 0] == pytest.approx(floor, rel=1e-5)
    assert np.isfinite(w["x"]).all()


def test_global_scaling_takes_its_statistics_from_the_training_part_only() -> None:
    d = data()
    raw = series().values
    np.testing.assert_allclose(d.mu, raw[:TRAIN_END].mean(axis=0))
    np.testing.assert_allclose(d.sd, raw[:TRAIN_END].std(axis=0))
    w = d.windows("val", 8, "global")
    np.testing.assert_allclose(w["loc"][0, 0], raw[:TRAIN_END, :1].mean(axis=0), rtol=1e-6)


def test_an_unknown_scaling_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="scaling must be 'global' or 'window', got 'robust'"):
        data().windows("train", 8, "robust")


def test_targets_and_baselines_line_up_with_the_windows() -> None:
    d = data()
    y = series().values[:, 0]
    targets, base = d.targets_of("test"), d.baseline_forecasts("test")
    for i, start in enumerate(d.starts("test", d.min_seq_len)):
        assert targets[i, :, 0].tolist() == y[start : start + H].tolist()
        assert base["naive"][i, :, 0].tolist() == [y[start - 1]] * H
        assert base["snaive"][i, :, 0].tolist() == [y[start + k - SEASON] for k in range(H)]


def test_predictions_of_the_wrong_size_are_refused_and_flat_ones_reshaped() -> None:
    d = data()
    y = d.targets_of("val")
    assert d.score("val", y.reshape(-1))["val_mae"] == 0.0
    with pytest.raises(ValueError, match=r"val predictions must be shaped \(\d+, 3, 1\)"):
        d.score("val", y.reshape(-1)[:-1])


def test_seq_len_bounds_are_the_training_part_less_one_horizon() -> None:
    d = data()
    assert d.max_seq_len == TRAIN_END - H
    d.check_seq_len(d.max_seq_len)
    d.check_seq_len(1)
    for bad in (0, d.max_seq_len + 1):
        need = bad + H + VAL + TEST
        with pytest.raises(DataError) as caught:
            d.check_seq_len(bad)
        message = str(caught.value)
        assert message.startswith(f"toy.csv: series too short for seq_len {bad}: ")
        assert f"needs at least {need} points" in message and f"has {N}" in message
        assert f"use seq_len between 1 and {d.max_seq_len}" in message


def test_a_series_shorter_than_the_smallest_split_is_refused_with_the_rows_it_needs() -> None:
    probe = data()
    need = probe.min_seq_len + H + VAL + TEST
    ForecastData("toy", series(need), horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    with pytest.raises(DataError, match=f"series has {need - 1} points; needs at least {need} "):
        ForecastData(
            "toy", series(need - 1), horizon=H, season=SEASON, val_size=VAL, test_size=TEST
        )


def test_validation_and_test_parts_hold_at_least_one_horizon() -> None:
    raw = series()
    d = ForecastData("toy", raw, horizon=H, season=SEASON, val_size=1, test_size=None)
    assert (d.val_size, d.test_size) == (H, H)
    assert (d.train_end, d.val_end) == (N - 2 * H, N - H)


def test_a_target_constant_over_the_training_part_is_refused_naming_the_column() -> None:
    values = np.full(N, 5.0)
    values[TRAIN_END:] = np.arange(N - TRAIN_END)  # varies only after the training part
    with pytest.raises(DataError, match=r"toy.csv: target column 'y' is constant \(5\) over "
                       r"the training part \(line 2 to line 46\)"):  # fmt: skip
        ForecastData("toy", series(values=values), horizon=H, season=SEASON, val_size=VAL,
                     test_size=TEST)  # fmt: skip


def test_the_summary_counts_the_windows_of_each_split() -> None:
    d = data()
    summary = d.summary()
    seq_len = summary["seq_len_default"]
    assert summary["split_points"] == {"train": TRAIN_END, "val": VAL, "test": TEST}
    assert summary["split_windows"] == {
        "train": TRAIN_END - H + 1 - seq_len,
        "val": VAL - H + 1,
        "test": TEST - H + 1,
    }
    assert (summary["targets"], summary["covariates"]) == (["y"], ["x"])
    assert summary["rows"] == N and summary["seq_len_max"] == TRAIN_END - H
    assert seq_len in summary["seq_len_candidates"]


def test_the_shortest_window_is_one_season_when_the_season_is_shorter_than_the_horizon() -> None:
    d = ForecastData("toy", series(), horizon=6, season=4, val_size=VAL, test_size=TEST)
    assert d.min_seq_len == 4
    assert min(d.seq_len_candidates()) >= 4


def test_candidate_windows_leave_enough_training_windows_and_the_default_covers_two_horizons() -> (
    None
):
    # The largest window that leaves MIN_TRAIN_WINDOWS training windows is exactly 16 here,
    # one of the candidates wanted for short horizons (8, 16, 32).
    n = 16 + H + MIN_TRAIN_WINDOWS - 1 + VAL + TEST
    d = ForecastData("toy", series(n), horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    candidates = d.seq_len_candidates()
    assert max(candidates) == 16
    assert d.default_seq_len == min(c for c in candidates if c >= max(2 * H, SEASON))


def test_a_constant_covariate_is_scaled_by_one_not_by_zero() -> None:
    raw = series()
    raw.values[:, 1] = 7.0
    d = ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    assert d.sd[1] == 1.0 and d.sd[0] == pytest.approx(raw.values[:TRAIN_END, 0].std())
    assert np.isfinite(d.windows("train", 8, "global")["x"]).all()


def test_the_fingerprint_changes_with_values_names_and_splits() -> None:
    base = data().fingerprint
    assert data().fingerprint == base
    renamed = series()
    renamed.columns = ("y", "price")  # type: ignore[misc]
    others = [
        ForecastData("toy", renamed, horizon=H, season=SEASON, val_size=VAL, test_size=TEST),
        ForecastData("toy", series(), horizon=H + 1, season=SEASON, val_size=VAL, test_size=TEST),
        ForecastData("toy", series(), horizon=H, season=SEASON, val_size=VAL + 1, test_size=TEST),
        ForecastData("toy", series(), horizon=H, season=SEASON, val_size=VAL, test_size=TEST + 1),
    ]
    shifted = series()
    shifted.values[0, 0] += 1
    others.append(
        ForecastData("toy", shifted, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    )
    assert len({base, *(o.fingerprint for o in others)}) == 6


def test_the_summary_says_what_inspect_prints() -> None:
    d = data()
    summary = d.summary()
    assert summary["name"] == "toy" and summary["kind"] == "forecast"
    assert summary["source"] == "toy.csv" and summary["time_span"] is None
    assert (summary["horizon"], summary["season"], summary["metric"]) == (H, SEASON, "mae")
    assert summary["topologies"] == ["seq2vec", "encoder_decoder", "seq2seq"]
    assert summary["seq_len_candidates"] == d.seq_len_candidates()
    assert summary["baselines"] == d.baselines() and summary["notes"] == []
    assert summary["fingerprint"] == d.fingerprint
    timed = series()
    timed.times = np.array(["t0", *[f"t{i}" for i in range(1, N)]])  # type: ignore[misc]
    span = ForecastData("toy", timed, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    assert span.summary()["time_span"] == f"t0 .. t{N - 1}"


def test_a_column_with_a_spread_below_one_keeps_its_own_scale() -> None:
    raw = series()
    raw.values[:, 1] = 0.01 * np.arange(N)
    d = ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    assert d.sd[1] == pytest.approx(raw.values[:TRAIN_END, 1].std())


def test_without_a_season_mase_is_scaled_by_the_one_step_naive_error() -> None:
    raw = series()
    d = ForecastData("toy", raw, horizon=H, season=None, val_size=VAL, test_size=TEST)
    train = raw.values[:TRAIN_END, 0]
    assert d.mase_scale[0] == pytest.approx(np.abs(np.diff(train)).mean())
    base = d.baseline_forecasts("test")
    assert np.array_equal(base["snaive"], base["naive"])  # no season: the last value
    # A declared season (5: no autocorrelation peak of this period-4 series) is a candidate.
    five = ForecastData("toy", raw, horizon=H, season=5, val_size=VAL, test_size=TEST)
    assert 5 in five.seq_len_candidates() and 5 not in d.seq_len_candidates()


def test_mase_averages_each_target_columns_own_scaled_error() -> None:
    index = np.arange(N, dtype=float)
    small, large = index % SEASON, 100 * ((index * 7) % 5)  # different seasonal errors
    raw = RawSeries("toy.csv", ("a", "b"), 2, np.stack([small, large], axis=1), index + 2)
    d = ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    y = d.targets_of("test")
    p = y + np.array([1.0, 10.0])  # errors 1 on a, 10 on b
    expected = (1.0 / d.mase_scale[0] + 10.0 / d.mase_scale[1]) / 2
    assert d.mase_scale[0] != d.mase_scale[1]
    assert d.score("test", p)["test_mase"] == pytest.approx(expected)


def test_baselines_are_rounded_to_four_decimals() -> None:
    d = data()
    raw_scores = d.score("test", d.baseline_forecasts("test")["naive"])
    assert d.baselines()["test_naive_smape"] == round(raw_scores["test_smape"], 4)
    assert raw_scores["test_smape"] != round(raw_scores["test_smape"], 5)


def test_windows_and_batches_are_float32_and_the_day_order_is_kept() -> None:
    raw = series()
    raw.dayfirst = True  # type: ignore[misc]
    d = ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    assert d.dayfirst is True
    w = d.windows("val", 8, "window")
    assert {w[k].dtype for k in ("x", "y", "loc", "scale")} == {np.dtype(np.float32)}
    assert d._values32.dtype == np.float32


def test_one_step_less_training_data_drops_the_window_at_the_bound() -> None:
    n = 15 + H + MIN_TRAIN_WINDOWS - 1 + VAL + TEST  # the bound is 15: 16 no longer fits
    d = ForecastData("toy", series(n), horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    assert max(d.seq_len_candidates()) <= 15


def test_when_no_candidate_covers_two_horizons_the_default_is_the_longest() -> None:
    n = 10 + H + MIN_TRAIN_WINDOWS - 1 + VAL + TEST  # windows of at most 10 steps
    d = ForecastData("toy", series(n), horizon=H, season=12, val_size=VAL, test_size=TEST)
    candidates = d.seq_len_candidates()
    assert max(candidates) < 12 and d.default_seq_len == candidates[-1]


def test_the_autocorrelation_peak_is_sought_within_four_seasons() -> None:
    """A period-20 series declared with season 4: its peak at lag 20 lies beyond 4 seasons and
    is not a candidate (nor 40); the candidates are the horizon's, the season's and 8/16/32."""
    n = 200
    wave = 10 * np.sin(2 * np.pi * np.arange(n) / 20)
    raw = RawSeries("toy.csv", ("y",), 1, wave[:, None], np.arange(n) + 2)
    d = ForecastData("toy", raw, horizon=H, season=SEASON, val_size=VAL, test_size=TEST)
    assert d.seq_len_candidates() == [3, 4, 6, 8, 9, 12, 16, 32]
