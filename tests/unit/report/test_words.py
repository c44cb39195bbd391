"""The baseline verdict (one owner, :mod:`automl_rnn.search.verdict`) and the report's test
sentence built on it."""

from __future__ import annotations

import pytest

from automl_rnn.report.words import test_sentence as sentence
from automl_rnn.search.verdict import baseline_verdict

FORECAST = {"test_mae": 8.0, "test_snaive_mae": 10.0, "test_rel_mae": 0.8, "test_mase": 0.9}
CLASSES = {"test_accuracy": 0.9, "test_majority_accuracy": 0.6}


def test_forecast_verdict_compares_with_seasonal_naive() -> None:
    assert baseline_verdict("forecast", FORECAST) == {
        "test_mae": 8.0,
        "seasonal_naive_mae": 10.0,
        "test_rel_mae": 0.8,
        "test_mase": 0.9,
        "verdict": "beats seasonal naive",
    }
    worse = baseline_verdict("forecast", {"test_rel_mae": 1.0})
    assert worse is not None and worse["verdict"] == "does NOT beat seasonal naive"
    assert worse["test_mae"] is None and worse["seasonal_naive_mae"] is None


def test_classification_verdict_compares_with_the_majority_class() -> None:
    assert baseline_verdict("classification", CLASSES) == {
        "test_accuracy": 0.9,
        "majority_accuracy": 0.6,
        "verdict": "beats the majority class",
    }
    tie = baseline_verdict("classification", {"test_accuracy": 0.6, "test_majority_accuracy": 0.6})
    assert tie is not None and tie["verdict"] == "does NOT beat the majority class"
    alone = baseline_verdict("classification", {"test_accuracy": 0.5})
    assert alone is not None and alone["majority_accuracy"] == 0.0


def test_other_kinds_get_their_test_metrics_and_no_best_trial_gets_none() -> None:
    metrics = {"test_mae": 3.0, "val_mae": 2.0, "test_rmse": 4.0}
    assert baseline_verdict("regression", metrics) == {"test_mae": 3.0, "test_rmse": 4.0}
    assert baseline_verdict(None, FORECAST) == FORECAST  # no kind: no verdict
    assert baseline_verdict("forecast", None) is None


def test_a_regression_is_compared_with_the_training_mean_and_the_last_value() -> None:
    pairs = {"test_mae": 2.0, "test_mean_mae": 7.0, "test_last_mae": 1.9}
    verdict = baseline_verdict("regression", pairs)
    assert verdict is not None
    assert verdict["verdict"] == "does NOT beat the last value repeated"
    assert verdict["rivals_mae"] == {"the training mean": 7.0, "the last value repeated": 1.9}
    better = baseline_verdict("regression", {**pairs, "test_mae": 1.5})
    assert better is not None
    assert better["verdict"] == "beats the training mean and the last value repeated"
    tie = baseline_verdict("regression", {"test_mae": 7.0, "test_mean_mae": 7.0})
    assert tie is not None and tie["verdict"] == "does NOT beat the training mean"


@pytest.mark.parametrize(
    ("kind", "metrics", "expected"),
    [
        (
            "regression",
            {"test_mae": 2.0, "test_mean_mae": 7.0, "test_last_mae": 1.9},
            "On the held-out test part it does not beat the last value repeated (test MAE 2 vs "
            "7 for the training mean, 1.9 for the last value repeated).",
        ),
        (
            "forecast",
            FORECAST,
            "On the held-out test part it beats seasonal naive "
            "(test MAE 8 vs 10 for seasonal naive, test_rel_mae=0.8).",
        ),
        (
            "forecast",
            {"test_rel_mae": 1.25},
            "On the held-out test part it does not beat seasonal naive (test_rel_mae=1.25).",
        ),
        (
            "classification",
            CLASSES,
            "On the held-out test part it beats the majority class (test accuracy 0.9 vs 0.6).",
        ),
        ("classification", {"test_accuracy": 0.5}, "Test accuracy 0.5."),
        ("regression", {"test_mae": 3.0, "val_mae": 2.0}, "Test metrics: test_mae=3."),
        ("regression", {"val_mae": 2.0}, ""),
    ],
)
def test_the_test_sentence_says_the_verdict_in_lower_case(
    kind: str, metrics: dict[str, float], expected: str
) -> None:
    assert sentence(kind, metrics) == expected


OURS = {
    "val_mae": 10.0,
    "val_snaive_mae": 30.0,
    "test_mae": 20.0,
    "test_snaive_mae": 40.0,
    "test_rel_mae": 0.5,
}


def _classical(
    ets: tuple[float, float], arima: tuple[float, float]
) -> dict[str, dict[str, float | str]]:
    return {
        "auto_ets": {"model": "AutoETS", "val_mae": ets[0], "test_mae": ets[1]},
        "auto_arima": {"model": "AutoARIMA", "val_mae": arima[0], "test_mae": arima[1]},
    }


def test_a_model_that_beats_every_classical_baseline_is_said_to() -> None:
    verdict = baseline_verdict("forecast", OURS, _classical((12.0, 25.0), (11.0, 21.0)))
    assert verdict is not None
    assert verdict["beats"] == ["seasonal naive", "AutoETS", "AutoARIMA"]
    assert verdict["does_not_beat"] == []
    assert verdict["classical_verdict"] == "beats seasonal naive, AutoETS and AutoARIMA on test"
    assert verdict["winner_on_test"] == verdict["best_on_validation"] == "the recurrent model"
    assert (
        verdict["verdict"] == "beats seasonal naive"
    )  # the seasonal-naive words stay as they were


def test_a_classical_model_that_forecasts_better_is_named_plainly() -> None:
    verdict = baseline_verdict("forecast", OURS, _classical((9.0, 15.0), (11.0, 20.0)))
    assert verdict is not None
    assert verdict["does_not_beat"] == ["AutoETS", "AutoARIMA"]  # a tie is not a win
    assert verdict["classical_verdict"] == (
        "does NOT beat AutoETS and AutoARIMA on test (MAE 20 vs AutoETS 15, AutoARIMA 20): "
        "a classical model forecasts this series better"
    )
    assert verdict["winner_on_test"] == "AutoETS"
    assert verdict["best_on_validation"] == "AutoETS"
    words = sentence("forecast", OURS, _classical((9.0, 15.0), (11.0, 20.0)))
    assert "does not beat AutoETS and AutoARIMA" in words
    assert "On validation, AutoETS was already better" in words


def test_a_baseline_that_failed_is_listed_but_not_compared() -> None:
    broken = _classical((9.0, 15.0), (11.0, 21.0))
    broken["auto_ets"] = {"model": "AutoETS", "error": "ValueError: no convergence"}
    verdict = baseline_verdict("forecast", OURS, broken)
    assert verdict is not None
    assert verdict["beats"] == ["seasonal naive", "AutoARIMA"]
    assert verdict["classical"]["auto_ets"]["error"] == "ValueError: no convergence"
    assert "AutoETS" not in str(verdict["classical_verdict"])


def test_many_series_say_the_share_beating_seasonal_naive_and_the_spread() -> None:
    panel = {
        **OURS,
        "test_series": 21.0,
        "test_beats_snaive_share": 0.9048,
        "test_rel_mae_best": 0.05,
        "test_rel_mae_median": 0.17,
        "test_rel_mae_worst": 1.32,
        "test_mase_median": 0.16,
    }
    words = sentence("forecast", panel)
    assert "beats seasonal naive on average over 21 series, on 90% of them" in words
    assert "rel_mae is 0.05 at best, 0.17 on the median series and 1.32 at worst." in words
    one_series = sentence("forecast", OURS)
    assert "Per series" not in one_series and "over" not in one_series
    at = {"test_rel_mae_best_series": 2.0, "test_rel_mae_median_series": 0.0,
          "test_rel_mae_worst_series": 1.0}  # fmt: skip
    named = sentence("forecast", {**panel, **at}, series=("s_a", "s_b", "s_c"))
    assert (
        "rel_mae is 0.05 at best ('s_c'), 0.17 on the median series ('s_a') and 1.32 at worst "
        "('s_b')." in named
    )
    unknown = sentence("forecast", {**panel, **at}, series=("s_a",))  # a changed file: no names
    assert "rel_mae is 0.05 at best, 0.17 on the median series ('s_a') and 1.32 at worst." in (
        unknown
    )


def test_many_series_are_compared_with_the_classical_models_by_mean_mase() -> None:
    """Pooled MAE would side with whoever fits the largest series: MASE decides, and the words
    say so (here the recurrent model's MAE is lower, its MASE higher)."""
    panel = {
        "val_mae": 50.0, "test_mae": 70.0, "val_mase": 0.30, "test_mase": 0.27,
        "test_snaive_mae": 500.0, "test_snaive_mase": 0.96, "val_snaive_mase": 0.8,
        "test_rel_mae": 0.3, "test_series": 21.0, "test_beats_snaive_share": 0.9,
    }  # fmt: skip
    classical = {
        "auto_ets": {"model": "AutoETS", "val_mae": 90.0, "test_mae": 95.0, "val_mase": 0.25,
                     "test_mase": 0.23},
    }  # fmt: skip
    verdict = baseline_verdict("forecast", panel, classical)
    assert verdict is not None
    assert verdict["does_not_beat"] == ["AutoETS"] and verdict["beats"] == ["seasonal naive"]
    assert "(MASE 0.27 vs AutoETS 0.23)" in str(verdict["classical_verdict"])
    assert "forecasts these series better" in str(verdict["classical_verdict"])
    assert verdict["best_on_validation"] == "AutoETS"
