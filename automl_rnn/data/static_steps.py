"""Vector → sequence from a long table: per-id constants (``--static-features``) to the target
at every step (``--per-step``): parameters that generate a curve, a product's attributes to its
sales profile, a device's settings to its per-step state.

``--id-col`` groups the rows, ``--time-col`` orders them; the static features must be constant
within an id (one line names the id and line where one changes). A numeric target is a curve
(regression, every id the same number of steps: the network emits a fixed-length output); a
text or few-valued integer target is a class at every step (``tokens``, lengths may differ: the
output ends with the padding class). Split by id, seeded; features (and a numeric target)
standardized with the training ids' statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from automl_rnn.data.arrays import View
from automl_rnn.data.contract import PAD_LABEL, PAD_TOKEN
from automl_rnn.data.csvread import Table
from automl_rnn.data.long_table import Grouped, filled_column, group_rows, read_long
from automl_rnn.data.scaling import rows_mask, standardize
from automl_rnn.data.sequences import (
    MIN_SEQUENCES,
    SequenceColumns,
    SequenceData,
    infer_kind,
)
from automl_rnn.data.splits import seeded_split
from automl_rnn.data.step_labels import class_order
from automl_rnn.errors import DataError


def read_static_steps(
    path: str | Path, columns: SequenceColumns, seed: int = 0, name: str | None = None
) -> SequenceData:
    """The ids of the long table at ``path`` as (static features → per-step target) pairs;
    ``columns.features`` are the static features."""
    text = (columns.id_col, columns.target)
    return read_long(
        path, text, columns.features, columns.time_col,
        lambda table: _static_steps(table, columns, seed, name),
    )  # fmt: skip


def _static_steps(
    table: Table, columns: SequenceColumns, seed: int, name: str | None
) -> SequenceData:
    grouped = group_rows(table, columns.id_col, columns.time_col)
    lengths = grouped.lengths
    if len(grouped.names) < MIN_SEQUENCES:
        raise DataError(
            f"{table.path}: {len(grouped.names)} ids in '{columns.id_col}' are too few to "
            f"train, validate and test; needs >= {MIN_SEQUENCES}"
        )
    firsts = np.r_[0, np.cumsum(lengths)[:-1]]
    static = np.empty((len(grouped.names), len(columns.features)))
    for j, column in enumerate(columns.features):
        values = grouped.ordered(table.numeric(column, "--static-features"))
        check_static(table, grouped, values, column)
        static[:, j] = values[firsts]
    raw = grouped.ordered(filled_column(table, columns.target, "--target").astype(str).to_numpy())
    kind = columns.kind or infer_kind(np.unique(raw))
    split = seeded_split(len(grouped.names), seed=seed)
    position = np.arange(len(raw)) - np.repeat(firsts, lengths)
    vocab: tuple[str, ...] = ()
    if kind == "regression":
        y = _curves(table, columns.target, raw, grouped, position)
        metric = "mae"
    else:
        kind, metric = "tokens", "char_accuracy"
        y, vocab = _step_classes(table, columns.target, raw, grouped.codes, position)
    mu, sd = standardize(static, rows_mask(len(static), split["train"]))
    x = static.astype(np.float32)
    notes = [
        f"{len(grouped.names)} ids, {len(columns.features)} static feature(s) each, "
        f"{int(lengths.min())}-{int(lengths.max())} steps"
    ]
    return SequenceData(
        name or Path(table.path).stem, kind, {"vec2seq": View(x, y)}, split, metric,
        str(table.path), vocab=vocab, notes=notes,
        ids=tuple(str(n) for n in grouped.names), columns=columns, feature_mu=mu, feature_sd=sd,
    )  # fmt: skip


def check_static(table: Table, grouped: Grouped, values: np.ndarray, column: str) -> None:
    """A static feature (``values``, rows in grouped order) must not change within an id."""
    changed = np.flatnonzero((np.diff(grouped.codes) == 0) & (np.diff(values) != 0))
    if changed.size:
        k = int(changed[0]) + 1
        raise DataError(
            f"{table.path}: static feature '{column}' changes within id "
            f"'{grouped.names[grouped.codes[k]]}' at {table.where(int(grouped.order[k]))} "
            f"({values[k - 1]:g} -> {values[k]:g}); a static feature has one value per id"
        )


def _curves(
    table: Table, target: str, raw: np.ndarray, grouped: Grouped, position: np.ndarray
) -> np.ndarray:
    """A numeric target at every step: ``[N, L, 1]`` float32; every id needs the same ``L``."""
    lengths = grouped.lengths
    if lengths.min() != lengths.max():
        short = int(np.argmin(lengths))
        raise DataError(
            f"{table.path}: id '{grouped.names[short]}' has {int(lengths[short])} steps, others "
            f"{int(lengths.max())}; a numeric curve from static features has one length (give "
            "every id the same steps, or a class target)"
        )
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        i = int(np.argmax(np.isnan(values)))
        raise DataError(
            f"{table.path}: column '{target}' has {raw[i]!r} at "
            f"{table.where(int(grouped.order[i]))}, not a number (or give --kind classification)"
        )
    if np.ptp(values) == 0:
        raise DataError(
            f"{table.path}: column '{target}' is {values[0]:g} at every step; nothing to learn"
        )
    y = np.empty((len(lengths), int(lengths.max()), 1), dtype=np.float32)
    y[grouped.codes, position, 0] = values
    return y


def _step_classes(
    table: Table, target: str, raw: np.ndarray, codes: np.ndarray, position: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...]]:
    """A class at every step: ``[N, L_max]`` int64 class ids (1..), the padding class 0 after
    each id's last step (the network learns to end there); the vocabulary, PAD first."""
    names, index = np.unique(raw, return_inverse=True)
    if len(names) < 2:
        raise DataError(
            f"{table.path}: column '{target}' is {names[0]!r} at every step; a per-step "
            "classifier needs at least two classes"
        )
    ordered = class_order(names)
    at = {name: i for i, name in enumerate(ordered)}
    rank = np.asarray([at[name] for name in names], dtype=np.int64)
    y = np.full((int(codes.max()) + 1, int(position.max()) + 1), PAD_TOKEN, dtype=np.int64)
    y[codes, position] = rank[index] + 1
    return y, (PAD_LABEL, *(str(n) for n in ordered))
