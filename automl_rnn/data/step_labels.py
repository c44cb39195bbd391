"""Per-step targets of a long table (``--per-step``): a class at every step of every sequence,
the sequence-labelling shape (sequence -> sequence). Trained and scored as the ``tokens`` kind:
``y[k, t]`` is step ``t``'s class id (1.., 0 is the padding class), IGNORE_INDEX past the
sequence's end; per-step accuracy is ``char_accuracy``, whole sequences right ``exact``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl_rnn.data.contract import IGNORE_INDEX, PAD_LABEL
from automl_rnn.data.csvread import Table
from automl_rnn.errors import DataError


def class_order(names: np.ndarray) -> np.ndarray:
    """Class names in the order a user expects: numerically when all are numbers (2 before 10),
    else as given (sorted)."""
    names = np.sort(names)
    numeric = pd.to_numeric(pd.Series(names), errors="coerce")
    if numeric.notna().all():
        names = names[np.argsort(numeric.to_numpy(), kind="stable")]
    return names


def step_labels(
    table: Table,
    target: str,
    labels: np.ndarray,
    ordered: np.ndarray,
    where: tuple[np.ndarray, np.ndarray],
    sequences: int,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(``y`` int64 ``[sequences, T_max]``, the output vocabulary: PAD then the classes).

    ``labels`` are the target's distinct values, ``ordered`` each ordered row's code into them,
    ``where`` each ordered row's (sequence, step)."""
    if len(labels) < 2:
        raise DataError(
            f"{table.path}: column '{target}' has one value ('{labels[0]}') at every step; a "
            "per-step classifier needs at least two classes"
        )
    names = class_order(labels)
    position = {name: i for i, name in enumerate(names)}
    rank = np.asarray([position[label] for label in labels], dtype=np.int64)  # per distinct value
    codes, positions = where
    y = np.full((sequences, int(positions.max()) + 1), IGNORE_INDEX, dtype=np.int64)
    y[codes, positions] = rank[ordered] + 1
    return y, (PAD_LABEL, *(str(n) for n in names))
