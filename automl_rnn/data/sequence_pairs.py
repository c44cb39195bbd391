"""Numeric pairs from a long table (the encoder-decoder shape on numbers): each id is an input
sequence followed by the output steps the model answers, marked by ``--output-steps-col``.

A demand history to the next week's hourly profile, a sensor's run-up to its settling curve, a
control input to the response it causes. One row per step, as every long table here::

    id,t,is_output,load,temp
    a,0,0,1.2,14
    a,1,0,1.4,15
    a,2,1,1.9,
    a,3,1,2.1,

``--features`` are read on the input steps only (empty cells allowed on output steps) and the
``--target`` on the output steps only, so a feature may be the target's own history (``--features
load,temp --target load``): the model never reads an output step's value. Each id's input steps
come first (in ``--time-col`` order), then its output steps; both may differ in number from
id to id (inputs packed, never padded into the recurrence; the decoder emits the most output
steps any id has, and the steps past an id's own are never trained on nor scored). Split by id, seeded; features and target standardized with the
training ids' statistics; scored against the training ids' mean curve.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from automl_rnn.data import metrics
from automl_rnn.data.arrays import View
from automl_rnn.data.contract import INPUT_MARKS, OUTPUT_MARKS
from automl_rnn.data.csvread import Table
from automl_rnn.data.long_table import Grouped, group_rows, read_long
from automl_rnn.data.prepared import fingerprint
from automl_rnn.data.scaling import standardize
from automl_rnn.data.sequences import (
    MIN_SEQUENCES,
    SequenceColumns,
    SequenceData,
)
from automl_rnn.data.splits import seeded_split
from automl_rnn.errors import DataError

if TYPE_CHECKING:
    import numpy.typing as npt

    from automl_rnn.data.batching import TensorBatches


def read_sequence_pairs(
    path: str | Path, columns: SequenceColumns, seed: int = 0, name: str | None = None
) -> SequenceData:
    """The ids of the long table at ``path`` as (input steps → output steps) pairs;
    ``columns.output_steps_col`` marks the output steps (or they are each id's last
    ``columns.output_last``)."""
    assert (columns.output_steps_col is None) != (columns.output_last is None)
    text = (columns.id_col, *([columns.output_steps_col] if columns.output_steps_col else []))
    numbers = tuple(dict.fromkeys((*columns.features, columns.target)))
    return read_long(
        path, text, numbers, columns.time_col, lambda table: _pairs(table, columns, seed, name)
    )


def _pairs(table: Table, columns: SequenceColumns, seed: int, name: str | None) -> SequenceData:
    grouped = group_rows(table, columns.id_col, columns.time_col)
    codes, names = grouped.codes, grouped.names
    if columns.output_steps_col is not None:
        marked = grouped.ordered(output_marks(table, columns.output_steps_col))
    else:  # each id's last N steps
        assert columns.output_last is not None
        ends = np.cumsum(grouped.lengths)[codes]
        marked = np.arange(len(codes)) >= ends - columns.output_last
    inputs = np.bincount(codes[~marked], minlength=len(names))
    outputs = np.bincount(codes[marked], minlength=len(names))
    _check_steps(table, columns, grouped, marked, inputs, outputs)
    if len(names) < MIN_SEQUENCES:
        raise DataError(
            f"{table.path}: {len(names)} ids in '{columns.id_col}' are too few to train, "
            f"validate and test; needs >= {MIN_SEQUENCES}"
        )
    starts = np.r_[0, np.cumsum(inputs + outputs)[:-1]]
    position = np.arange(len(codes)) - np.repeat(starts, inputs + outputs)
    steps = np.empty((int(inputs.sum()), len(columns.features)))
    for j, feature in enumerate(columns.features):
        values = grouped.ordered(table.numeric(feature, "--features"))
        empty = np.flatnonzero(np.isnan(values) & ~marked)
        if empty.size:
            raise DataError(
                f"{table.path}: column '{feature}' is empty at "
                f"{table.where(int(grouped.order[empty[0]]))}, an input step; every input step "
                "needs every feature (output steps may leave them empty)"
            )
        steps[:, j] = values[~marked]
    y = _outputs(table, columns.target, grouped, marked, position - inputs[codes], len(names))
    split = seeded_split(len(names), seed=seed)
    mu, sd = standardize(steps, np.isin(codes[~marked], split["train"]))
    x = np.zeros((len(names), int(inputs.max()), len(columns.features)), dtype=np.float32)
    x[codes[~marked], position[~marked]] = steps
    varies = bool(outputs.min() != outputs.max())
    answered = f"{int(outputs.min())}-{int(outputs.max())}" if varies else f"{int(outputs[0])}"
    notes = [
        f"{len(names)} pairs (ids in '{columns.id_col}'): {int(inputs.min())}-{int(inputs.max())} "
        f"input steps (median {float(np.median(inputs)):g}), {answered} output steps "
        f"({_marking(columns)})"
    ]
    view = View(
        x,
        y,
        lengths=inputs.astype(np.int64),
        out_lengths=outputs.astype(np.int64) if varies else None,
    )
    return PairData(
        name or Path(table.path).stem, "regression", {"encoder_decoder": view}, split, "mae",
        str(table.path), notes=notes, ids=tuple(str(n) for n in names), columns=columns,
        feature_mu=mu, feature_sd=sd,
    )  # fmt: skip


class PairData(SequenceData):
    """Numeric pairs: :class:`SequenceData` that, when the target is among the features, learns
    each output step as a change from the id's last input value of the target (the batches'
    ``loc`` is that value: a network answering zeros repeats it) and is also scored against
    repeating it (``{split}_last_mae``, ``_mse``), the persistence forecast a sequence of
    numbers should beat."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.last_feature = (
            self.columns.features.index(self.columns.target)
            if self.columns.target in self.columns.features
            else None
        )
        """Which feature holds the target's history (None: the target is no input)."""
        if self.last_feature is not None:
            self.fingerprint = fingerprint(self.fingerprint, "change from the last input value")

    def last_values(self, rows: np.ndarray) -> np.ndarray:
        """Each of ``rows``' last input value of the target, in its units (float64)."""
        assert self.last_feature is not None
        view = self.views["encoder_decoder"]
        assert view.lengths is not None
        j = self.last_feature
        last = view.x[rows, view.lengths[rows] - 1, j].astype(np.float64)
        return last * self.feature_sd[j] + self.feature_mu[j]

    def _datasets(
        self, topology: str, seq_len: int | None, scaling: str
    ) -> dict[str, TensorBatches]:
        """:meth:`SequenceData._datasets`, the targets as changes from the last input value."""
        import torch

        datasets = super()._datasets(topology, seq_len, scaling)
        if self.last_feature is None:
            return datasets
        for split, batches in datasets.items():
            last = self.last_values(self.split[split])
            offset = torch.from_numpy(((last - self.target_loc) / self.target_scale)[:, None, None])
            batches.tensors["y"] = batches.tensors["y"] - offset.float()
            batches.tensors["loc"] = torch.from_numpy(last[:, None, None]).float()
        return datasets

    def score(self, split: str, predictions: npt.ArrayLike) -> dict[str, float]:
        """MAE and MSE over each id's output steps (not the padding past a shorter output),
        against the training ids' mean curve (each step's mean over the training ids that reach
        it) and, when the target is a feature, against repeating its last input value."""
        self.check_split(split)
        rows = self.split[split]
        y = self.views["encoder_decoder"].y[rows].astype(np.float64)
        p = np.asarray(predictions, dtype=np.float64).reshape(y.shape)
        valid = self._answered(rows)
        mean = np.broadcast_to(self._mean_curve(), y.shape)
        out = {
            f"{split}_mse": metrics.mse(y[valid], p[valid]),
            f"{split}_mae": metrics.mae(y[valid], p[valid]),
            f"{split}_mean_mse": metrics.mse(y[valid], mean[valid]),
            f"{split}_mean_mae": metrics.mae(y[valid], mean[valid]),
        }
        if self.last_feature is not None:
            repeated = np.broadcast_to(self.last_values(rows)[:, None, None], y.shape)
            out[f"{split}_last_mse"] = metrics.mse(y[valid], repeated[valid])
            out[f"{split}_last_mae"] = metrics.mae(y[valid], repeated[valid])
        return out

    def _answered(self, rows: np.ndarray) -> np.ndarray:
        """``[n, L]`` True at the output steps ``rows`` answer (all L when every id answers L)."""
        view = self.views["encoder_decoder"]
        width = view.y.shape[1]
        if view.out_lengths is None:
            return np.ones((len(rows), width), dtype=bool)
        return np.arange(width)[None, :] < view.out_lengths[rows][:, None]

    def _mean_curve(self) -> np.ndarray:
        """``[L, 1]``: the training ids' mean at each output step, over the ids that reach it."""
        train = self.split["train"]
        y = self.views["encoder_decoder"].y[train].astype(np.float64)[..., 0]
        valid = self._answered(train)
        count = valid.sum(axis=0)
        total = np.where(valid, y, 0.0).sum(axis=0)
        curve = np.divide(total, count, out=np.full(len(count), self.target_loc), where=count > 0)
        return curve[:, None]


def output_marks(table: Table, column: str) -> np.ndarray:
    """``--output-steps-col`` as booleans (True: an output step), in table row order; a cell
    that is neither mark is refused, naming its line."""
    raw = table.column(column, "--output-steps-col")
    if pd.api.types.is_bool_dtype(raw):  # Parquet booleans
        return raw.to_numpy(dtype=bool)
    text = raw.astype(str).str.strip().str.lower()
    numbers = pd.to_numeric(text, errors="coerce")
    text = text.where(numbers.isna(), numbers.astype(str).str.removesuffix(".0"))
    out, into = text.isin(OUTPUT_MARKS).to_numpy(), text.isin(INPUT_MARKS).to_numpy()
    bad = ~(out | into) | raw.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        shown = "an empty cell" if pd.isna(raw.iloc[i]) else repr(str(raw.iloc[i]))
        raise DataError(
            f"{table.path}: column '{column}' has {shown} at {table.where(i)}; mark each row "
            f"as an output step ({', '.join(OUTPUT_MARKS)}) or an input step "
            f"({', '.join(INPUT_MARKS)})"
        )
    return np.asarray(out)


def _check_steps(
    table: Table,
    columns: SequenceColumns,
    grouped: Grouped,
    marked: np.ndarray,
    inputs: np.ndarray,
    outputs: np.ndarray,
) -> None:
    """Each id: input steps, then output steps (in time order), of both at least one."""
    names, codes, order = grouped.names, grouped.codes, grouped.order
    back = np.flatnonzero((np.diff(codes) == 0) & marked[:-1] & ~marked[1:])
    if back.size:
        k = int(back[0]) + 1
        raise DataError(
            f"{table.path}: id '{names[codes[k]]}' has an input step at "
            f"{table.where(int(order[k]))} after one of its output steps; an id's output steps "
            f"('{columns.output_steps_col}' set) come after all of its input steps"
        )
    marking = _marking(columns)
    for count, part in ((inputs, "input"), (outputs, "output")):
        if (count == 0).any():
            k = int(np.argmax(count == 0))
            raise DataError(
                f"{table.path}: id '{names[k]}' has no {part} step; each id needs input steps "
                f"and output steps ({marking})"
            )


def _marking(columns: SequenceColumns) -> str:
    """How the output steps are told apart, for messages."""
    if columns.output_steps_col:
        return f"marked by '{columns.output_steps_col}'"
    return f"each id's last {columns.output_last}"


def _outputs(
    table: Table,
    target: str,
    grouped: Grouped,
    marked: np.ndarray,
    step: np.ndarray,
    ids: int,
) -> np.ndarray:
    """The target on each id's output steps: ``[ids, L, 1]`` float32, L the most any id has
    (``step``: each ordered row's output step, meaningful where ``marked``)."""
    values = grouped.ordered(table.numeric(target, "--target"))
    empty = np.flatnonzero(np.isnan(values) & marked)
    if empty.size:
        raise DataError(
            f"{table.path}: column '{target}' is empty at "
            f"{table.where(int(grouped.order[empty[0]]))}, an output step; every output step "
            "needs its target"
        )
    answers = values[marked]
    if np.ptp(answers) == 0:
        raise DataError(
            f"{table.path}: column '{target}' is {answers[0]:g} at every output step; there is "
            "nothing to learn"
        )
    y = np.zeros((ids, int(np.bincount(grouped.codes[marked]).max()), 1), dtype=np.float32)
    y[grouped.codes[marked], step[marked], 0] = answers  # zeros past a shorter output
    return y
