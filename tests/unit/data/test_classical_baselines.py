"""The classical baselines (AutoETS, AutoARIMA) on a search's own windows: causal, fitted on the
training part, contained when they fail, cached by data."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from automl_rnn.data import classical, prepare
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.source import DataSource

pytest.importorskip("statsforecast")


@pytest.fixture(scope="module")
def air() -> ForecastData:
    data = prepare(DataSource(task="air_passengers"))
    assert isinstance(data, ForecastData)
    return data


def _arima(season: int) -> classical._Model:
    return classical._models(season)["auto_arima"][1]()


def test_both_models_are_scored_on_the_validation_and_test_windows(air: ForecastData) -> None:
    scores = classical.score(air)
    assert {s["model"] for s in scores.values()} == {"AutoETS", "AutoARIMA"}
    for table in scores.values():
        for split in ("val", "test"):
            assert math.isfinite(float(table[f"{split}_mae"])), table
            assert float(table[f"{split}_rel_mae"]) == pytest.approx(
                float(table[f"{split}_mae"])
                / air.score(split, air.baseline_forecasts(split)["snaive"])[f"{split}_mae"],
                rel=1e-4,
            )
    # Box-Jenkins' airline model family: seasonal ARIMA beats seasonal naive on the 1960 test year.
    assert float(scores["auto_arima"]["test_rel_mae"]) < 1


def test_forecasts_have_the_windows_shape_and_read_nothing_from_their_own_future(
    air: ForecastData,
) -> None:
    """Poisoning every value from a validation window's first target on leaves its forecast as
    it was: the fit reads the training part, each forecast the history before its window."""
    make = lambda: _arima(12)  # noqa: E731
    clean = classical.forecasts(air, make, "val")
    assert clean.shape == air.targets_of("val").shape
    starts = air.starts("val", air.min_seq_len)
    poisoned = copy.copy(air)
    poisoned.targets = air.targets.copy()
    poisoned.targets[starts[4] :] *= 10.0
    again = classical.forecasts(poisoned, make, "val")
    np.testing.assert_allclose(again[:5], clean[:5], rtol=0, atol=1e-9)
    assert not np.allclose(again[5:], clean[5:])  # later windows do read the changed history


def test_long_seasons_use_mstl_with_a_non_seasonal_arima() -> None:
    assert classical._models(12)["auto_arima"][0] == "AutoARIMA"
    assert classical._models(24)["auto_arima"][0] == "MSTL + AutoARIMA"
    assert classical._models(52)["auto_arima"][0] == "MSTL + AutoARIMA"


def test_a_baseline_that_cannot_be_fitted_is_reported_and_the_other_still_scored(
    air: ForecastData, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def fit(self, y: np.ndarray) -> classical._Fitted:
            raise ValueError("no convergence")

    real = classical._models

    def models(season: int) -> dict[str, tuple[str, object]]:
        found = dict(real(season))
        found["auto_ets"] = ("AutoETS", Broken)
        return found  # type: ignore[return-value]

    monkeypatch.setattr(classical, "_models", models)
    scores = classical.score(air)
    assert scores["auto_ets"]["error"] == "ValueError: no convergence"
    assert "test_mae" not in scores["auto_ets"]
    assert math.isfinite(float(scores["auto_arima"]["test_mae"]))


def test_scores_are_cached_by_data_and_a_corrupt_cache_is_refitted(
    air: ForecastData, tmp_path: Path
) -> None:
    first = classical.cached_score(air, tmp_path)
    [path] = (tmp_path / "classical").glob("*.json")
    assert air.fingerprint[:24] in path.name
    assert json.loads(path.read_text()) == first
    path.write_text(json.dumps({"auto_ets": {"model": "AutoETS", "test_mae": -1.0}}))
    assert classical.cached_score(air, tmp_path)["auto_ets"]["test_mae"] == -1.0  # read, not refit
    path.write_text("{not json")
    again = classical.cached_score(air, tmp_path)
    assert {k: v["test_mae"] for k, v in again.items()} == {
        k: v["test_mae"] for k, v in first.items()
    }
    assert not list((tmp_path / "classical").glob("*.tmp"))


def test_many_series_are_fitted_one_by_one_on_their_own_history(tmp_path: Path) -> None:
    """Two series, the second the first x 1000: ETS forecasts each in its own scale (a fit
    pooled across series, or reading the wrong slice, would not scale); poisoning the test parts
    leaves the validation forecasts as they were; the panel's scores are per series (MASE)."""
    import pandas as pd

    from automl_rnn.data.generators import panel_table
    from automl_rnn.data.panel_data import PanelData

    one = pd.DataFrame(panel_table(1, (90, 90), seed=2))
    other = one.assign(series="big", sales=one["sales"] * 1000)
    frame = pd.concat([one, other])
    frame.to_csv(tmp_path / "p.csv", index=False)
    flags = {"data": str(tmp_path / "p.csv"), "id_col": "series", "time_col": "date",
             "target": "sales"}  # fmt: skip
    data = prepare(DataSource.from_args(flags))
    assert isinstance(data, PanelData)
    make = classical._models(7)["auto_ets"][1]
    found = classical.forecasts_of(data, make, ("val", "test"))
    assert found["val"].shape == (2, 7)
    np.testing.assert_allclose(found["test"][1], 1000 * found["test"][0], rtol=1e-3)
    poisoned = copy.copy(data)
    poisoned.targets = data.targets.copy()
    poisoned.targets[data.starts("test")[:, None] + np.arange(7)] *= 50.0
    again = classical.forecasts_of(poisoned, make, ("val",))
    np.testing.assert_allclose(again["val"], found["val"], rtol=0, atol=1e-9)
    scores = classical.score(data)["auto_ets"]
    assert float(scores["test_mase"]) == pytest.approx(
        data.score("test", found["test"])["test_mase"], rel=1e-4
    )
