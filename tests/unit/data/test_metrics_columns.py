"""Metric details a reviewer's mutants slipped past: MASE's scale per column, a class never
predicted right, char accuracy over a single character."""

from __future__ import annotations

import numpy as np
import pytest

from automl_rnn.data import metrics


def test_mase_scale_is_per_column_and_falls_back_per_column() -> None:
    """Column 0 (scale ~1, irregular) keeps its seasonal scale; column 1 (scale ~1000, exactly
    periodic) falls back to its own lag-1 scale, not one pooled over both columns."""
    rng = np.random.default_rng(0)
    season = 4
    irregular = rng.normal(size=40)
    periodic = np.tile([1000.0, 2000.0, 1500.0, 500.0], 10)
    scale = metrics.insample_snaive_mae(np.stack([irregular, periodic], axis=1), season)
    assert scale.shape == (2,)
    assert scale[0] == pytest.approx(np.mean(np.abs(irregular[season:] - irregular[:-season])))
    assert scale[1] == pytest.approx(np.mean(np.abs(np.diff(periodic))))  # 1000 / 500 steps


def test_mase_scale_of_a_tiny_valued_irregular_column_is_kept() -> None:
    """Values around 1e-3 with a seasonal scale around 1e-4: above the "exactly periodic"
    threshold (1e-6 of the column's mean size), so the seasonal scale stays."""
    rng = np.random.default_rng(1)
    tiny = 1e-3 + 1e-4 * rng.normal(size=(24, 1))
    scale = metrics.insample_snaive_mae(tiny, 12)
    assert scale[0] == pytest.approx(np.mean(np.abs(tiny[12:] - tiny[:-12])))


def test_a_constant_column_gets_scale_one() -> None:
    assert metrics.insample_snaive_mae(np.full((10, 1), 5.0), 2).tolist() == [1.0]


def test_macro_f1_scores_a_class_never_predicted_right_as_zero() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0, 0, 0, 0])  # class 1 never right: F1 0; class 0: 2*2 / (4 + 2) = 2/3
    assert metrics.macro_f1(y, p) == pytest.approx((2 / 3 + 0.0) / 2)


def test_char_accuracy_over_a_single_character() -> None:
    y = np.array([[5, 0]])  # one real token, then padding (PAD is 0)
    exact, chars = metrics.token_scores(y, np.array([[5, 0]]))
    assert (exact, chars) == (1.0, 1.0)


def test_smape_is_symmetric_percent_and_counts_both_zero_as_zero() -> None:
    """2|y-p| / (|y|+|p|) per point, in percent: (20/210 + 2 + 0 + 0.5/0.75) / 4 * 100.
    Points below 1 matter (the denominator is not thresholded at 1)."""
    y = np.array([100.0, 1.0, 0.0, 0.5])
    p = np.array([110.0, -1.0, 0.0, 0.25])
    expected = (20 / 210 + 2.0 + 0.0 + 0.25 * 2 / 0.75) / 4 * 100
    assert metrics.smape(y, p) == pytest.approx(expected)
    assert metrics.smape(p, y) == pytest.approx(expected)
