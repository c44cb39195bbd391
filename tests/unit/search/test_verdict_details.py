"""The baseline verdict's corners (``search/verdict.py``) that mutation testing found unpinned:
the many-series spread keys, a kind without a verdict that has an accuracy, a classical model
without a display name or a validation score, an entry marked failed that still carries numbers,
seasonal naive as the only model that forecasts better, and no validation score at all."""

from __future__ import annotations

from automl_rnn.search.verdict import RECURRENT, baseline_verdict

OURS = {"val_mae": 10.0, "test_mae": 20.0, "test_snaive_mae": 40.0, "test_rel_mae": 0.5}


def test_many_series_carry_their_spread_over_the_series() -> None:
    spread = {"test_rel_mae_best": 0.05, "test_rel_mae_median": 0.17, "test_rel_mae_worst": 1.3,
              "test_mase_median": 0.16}  # fmt: skip
    panel = {**OURS, "test_series": 21.0, "test_beats_snaive_share": 0.9, **spread}
    verdict = baseline_verdict("forecast", panel)
    assert verdict is not None
    assert {key: verdict[key] for key in spread} == spread


def test_a_kind_without_a_majority_verdict_gets_its_test_metrics_only() -> None:
    """Token outputs have an accuracy too, but no majority-class baseline to be compared with."""
    metrics = {"test_accuracy": 0.9, "test_exact": 0.5, "val_accuracy": 0.8}
    assert baseline_verdict("tokens", metrics) == {"test_accuracy": 0.9, "test_exact": 0.5}


def test_seasonal_naive_is_ranked_on_validation_by_its_own_score() -> None:
    metrics = {**OURS, "val_snaive_mae": 8.0}  # seasonal naive better on validation only
    verdict = baseline_verdict("forecast", metrics, {"ets": {"model": "AutoETS", "test_mae": 30.0}})
    assert verdict is not None
    assert verdict["best_on_validation"] == "seasonal naive"
    assert verdict["winner_on_test"] == RECURRENT


def test_a_classical_model_without_a_name_or_a_validation_score_is_still_compared() -> None:
    verdict = baseline_verdict("forecast", OURS, {"auto_theta": {"test_mae": 15.0}})
    assert verdict is not None
    assert verdict["does_not_beat"] == ["auto_theta"] and verdict["winner_on_test"] == "auto_theta"
    assert verdict["best_on_validation"] == RECURRENT  # the only validation score known


def test_an_entry_marked_failed_is_not_compared_even_with_numbers() -> None:
    broken = {"ets": {"model": "AutoETS", "val_mae": 1.0, "test_mae": 1.0, "error": "timeout"}}
    verdict = baseline_verdict("forecast", OURS, broken)
    assert verdict is not None
    assert verdict["beats"] == ["seasonal naive"] and verdict["does_not_beat"] == []
    assert verdict["winner_on_test"] == verdict["best_on_validation"] == RECURRENT


def test_losing_to_seasonal_naive_alone_names_it() -> None:
    worse = {**OURS, "test_mae": 50.0, "test_rel_mae": 1.25}
    verdict = baseline_verdict("forecast", worse, {"ets": {"model": "AutoETS", "test_mae": 60.0}})
    assert verdict is not None
    assert verdict["classical_verdict"] == (
        "does NOT beat seasonal naive on test (MAE 50 vs seasonal naive 40): seasonal naive "
        "forecasts this series better"
    )


def test_no_validation_score_anywhere_names_no_best_on_validation() -> None:
    no_val = {k: v for k, v in OURS.items() if k != "val_mae"}
    verdict = baseline_verdict("forecast", no_val, {"ets": {"model": "AutoETS", "test_mae": 30.0}})
    assert verdict is not None and verdict["best_on_validation"] is None
