"""Splits: which rows train, which validate, which test (the split stage of every shape).

Samples that stand alone (labelled sequences, pairs, texts, curves from constants, the built-in
arrays) are split by row (by id for long tables: no sequence is ever cut across parts), seeded,
:func:`seeded_split`; class labels in the same proportions in each part,
:func:`stratified_split`. A series is split by time instead, its last steps validating and
testing: :class:`~automl_rnn.data.forecast.ForecastData` (one series) and
:class:`~automl_rnn.data.panel_data.PanelData` (each series of many), with the parts' sizes
ruled by :mod:`automl_rnn.data.lengths`.
"""

from __future__ import annotations

import numpy as np

#: The shares of a user's file that validate and test (the rest trains).
VAL_FRACTION = TEST_FRACTION = 0.15


def seeded_split(
    n: int, val_fraction: float = VAL_FRACTION, test_fraction: float = TEST_FRACTION, seed: int = 0
) -> dict[str, np.ndarray]:
    """Train/val/test indices of a seeded permutation (each part sorted, non-empty)."""
    order = np.random.default_rng(seed).permutation(n)
    n_val, n_test = max(1, round(n * val_fraction)), max(1, round(n * test_fraction))
    return {
        "train": np.sort(order[n_val + n_test :]),
        "val": np.sort(order[:n_val]),
        "test": np.sort(order[n_val : n_val + n_test]),
    }


def stratified_split(y: np.ndarray, classes: int, seed: int) -> dict[str, np.ndarray]:
    """Train/val/test indices, each class split in the same proportions (one at least in each
    part), seeded; each part sorted."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for k in range(classes):
        members = rng.permutation(np.flatnonzero(y == k))
        n_val = max(1, round(len(members) * VAL_FRACTION))
        n_test = max(1, round(len(members) * TEST_FRACTION))
        parts["val"].append(members[:n_val])
        parts["test"].append(members[n_val : n_val + n_test])
        parts["train"].append(members[n_val + n_test :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
