"""Standardizing the steps of a long table with statistics of its training rows only.

One rule for labelled sequences (:mod:`.sequences`) and the covariates of many series
(:mod:`.panel_data`): a column's mean and sd over the training rows, sd floored so that a
constant column scales to zeros rather than NaN. Matrix-vector products weigh the rows, so the
training rows are never copied out of a table of millions.
"""

from __future__ import annotations

import numpy as np

#: The smallest sd a column is divided by.
SD_FLOOR = 1e-8


def standardize(steps: np.ndarray, in_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``steps`` ``[rows, columns]`` in place to mean 0 and sd 1 over the rows where
    ``in_train`` (a boolean per row) is set; returns that mean and sd (float64). Sums are taken
    in float64 whatever the dtype of ``steps``."""
    train_rows = in_train.astype(np.float64)
    count = float(train_rows.sum())
    mu = train_rows @ steps.astype(np.float64, copy=False) / count
    steps -= mu.astype(steps.dtype)
    squares = np.einsum("i,ij,ij->j", train_rows, steps, steps, dtype=np.float64)
    sd = np.maximum(np.sqrt(squares / count), SD_FLOOR)
    steps /= sd.astype(steps.dtype)
    return mu, sd


def rows_mask(rows: int, chosen: np.ndarray) -> np.ndarray:
    """A boolean per row, set at the indices ``chosen`` (a split's part)."""
    mask = np.zeros(rows, dtype=bool)
    mask[chosen] = True
    return mask
