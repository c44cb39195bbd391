"""Labelled sequences from a long table (one row per time step): ``--id-col`` groups the rows into
sequences, ``--features`` are the inputs at each step, ``--target`` is one label (or value) per id.

The sequence → vector shape: sensor recordings to classify, utterances to attribute, runs to score.
Rows are grouped by id (an id's rows may be anywhere in the file) and ordered by ``--time-col``
within it (by file order without one). Variable lengths are kept (the batches carry ``lengths``,
so padding never enters the recurrence). The split is by id, stratified by class, seeded: no
sequence is ever split across parts. Features are standardized per column with statistics of the
training sequences only; a regression target likewise (predictions come back in its units).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl_rnn.data import metrics
from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.contract import PAD_TOKEN
from automl_rnn.data.csvread import Table
from automl_rnn.data.long_table import Grouped, filled_column, group_rows, read_long
from automl_rnn.data.scaling import SD_FLOOR, standardize
from automl_rnn.data.splits import seeded_split, stratified_split
from automl_rnn.data.step_labels import class_order, step_labels
from automl_rnn.errors import DataError

if TYPE_CHECKING:
    import numpy.typing as npt

    from automl_rnn.data.batching import TensorBatches

#: Sequences needed to train, validate and test (and no fewer per class: one in each part).
MIN_SEQUENCES = 20
MIN_PER_CLASS = 3
#: An integer target with at most this many distinct values is a class label.
MAX_INTEGER_CLASSES = 20
#: The topology that fits each kind of target: one answer per id, or one per step.
TOPOLOGY = {"classification": "seq2vec", "regression": "seq2vec", "tokens": "seq2seq"}
#: The metric a search optimises when the caller names none, per kind.
DEFAULT_METRIC = {"classification": "accuracy", "regression": "mae", "tokens": "char_accuracy"}


@dataclass(frozen=True)
class SequenceColumns:
    """The columns of a long table that make labelled sequences."""

    id_col: str
    features: tuple[str, ...]
    target: str
    time_col: str | None = None
    kind: str | None = None
    """``classification`` or ``regression``; None infers it from the target's values."""
    per_step: bool = False
    """The target labels every step (sequence labelling, sequence -> sequence), not each id."""
    output_steps_col: str | None = None
    """Numeric pairs: the column marking each id's output steps (:mod:`.sequence_pairs`)."""
    output_last: int | None = None
    """Numeric pairs without a marking column: the last N steps of each id are its outputs."""


def read_sequences(
    path: str | Path,
    columns: SequenceColumns,
    seed: int = 0,
    name: str | None = None,
    metric: str | None = None,
) -> SequenceData:
    """The labelled sequences of the long table at ``path`` (see the module docstring); ``name``
    and ``metric`` default to the file's stem and the kind's usual metric.

    A large file is read typed first (:func:`read_typed`, seconds for millions of rows); any
    problem found that way is found again on the exact read, whose refusal names the line."""
    text = (columns.id_col, columns.target)
    return read_long(
        path, text, columns.features, columns.time_col,
        lambda table: _sequences(table, columns, seed, name, metric),
    )  # fmt: skip


def _sequences(
    table: Table, columns: SequenceColumns, seed: int, name: str | None, metric: str | None
) -> SequenceData:
    path = table.path
    grouped = group_rows(table, columns.id_col, columns.time_col)
    codes, names = grouped.codes, grouped.names
    steps = _feature_steps(table, columns.features, grouped)
    label_codes, label_names = pd.factorize(filled_column(table, columns.target, "--target"))
    labels = np.asarray(label_names, dtype=str)
    ordered = grouped.ordered(label_codes)
    if columns.per_step:
        firsts = np.flatnonzero(np.r_[True, np.diff(codes) != 0])
    else:
        firsts = _constant_within_id(table, columns.target, ordered, labels, grouped)
    lengths = np.bincount(codes, minlength=len(names)).astype(np.int64)
    short = np.flatnonzero(lengths < 2)
    if short.size:
        raise DataError(
            f"{table.path}: id '{names[short[0]]}' (column '{columns.id_col}') has one row; a "
            "sequence needs at least two steps (drop it, or check the id column)"
        )
    if len(names) < MIN_SEQUENCES:
        raise DataError(
            f"{table.path}: {len(names)} sequences (ids in '{columns.id_col}') are too few to "
            f"train, validate and test; needs >= {MIN_SEQUENCES}"
        )
    positions = np.arange(len(codes)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    targets = labels[ordered[firsts]]
    vocab: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    if columns.per_step:  # a class or a value at every step
        step_kind = columns.kind or infer_kind(labels)
        kind = "tokens" if step_kind == "classification" else "regression"
    else:
        kind = columns.kind or infer_kind(targets)
    if kind == "regression" and columns.per_step:
        y = _step_numbers(table, columns.target, labels, ordered, (codes, positions), len(names))
        split = seeded_split(len(names), seed=seed)
    elif kind == "tokens":
        y, vocab = step_labels(
            table, columns.target, labels, ordered, (codes, positions), len(names)
        )
        split = seeded_split(len(names), seed=seed)
    elif kind == "classification":
        y, classes = _classes(table, columns.target, targets)
        split = stratified_split(y, len(classes), seed)
    else:
        y = _numbers(table, columns.target, targets)
        split = seeded_split(len(names), seed=seed)
    mu, sd = standardize(steps, np.isin(codes, split["train"]))
    x = np.zeros((len(names), int(lengths.max()), len(columns.features)), dtype=np.float32)
    x[codes, positions] = steps
    metric = metric or DEFAULT_METRIC[kind]
    return SequenceData(
        name or Path(path).stem, kind,
        {"seq2seq" if columns.per_step else TOPOLOGY[kind]: View(x, y, lengths=lengths)}, split, metric,
        str(path), classes=classes, vocab=vocab, notes=_notes(columns, names, lengths, table),
        ids=tuple(str(n) for n in names), columns=columns, feature_mu=mu, feature_sd=sd,
    )  # fmt: skip


def _feature_steps(table: Table, features: tuple[str, ...], grouped: Grouped) -> np.ndarray:
    """``[rows, features]`` float64: the feature columns with the rows in grouped order; an
    empty cell is refused with its line. Each column is dropped from the table once copied
    (large tables hold one copy of the steps)."""
    steps = np.empty((len(grouped.codes), len(features)))
    for j, feature in enumerate(features):
        column = table.numeric(feature, "--features")
        missing = np.isnan(column)
        if missing.any():
            raise DataError(
                f"{table.path}: column '{feature}' is empty at {table.where(int(np.argmax(missing)))}"
                "; every step needs every feature (fill or drop those rows)"
            )
        steps[:, j] = grouped.ordered(column)
        del column, table.frame[feature]
    return steps


class SequenceData(ArrayData):
    """:class:`ArrayData` that remembers its ids and the features' scaling (for export), trains
    a regression target in standardized units, and per-step targets (``tokens``) with each
    batch cut to its longest sequence."""

    def __init__(
        self,
        *args: object,
        ids: tuple[str, ...],
        columns: SequenceColumns,
        feature_mu: np.ndarray,
        feature_sd: np.ndarray,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ids, self.columns = ids, columns
        self.feature_mu, self.feature_sd = feature_mu, feature_sd
        self.step_values = self.kind == "regression" and self.topologies == ("seq2seq",)
        """A value at every step of the input (per-step regression)."""
        if self.kind == "regression":
            view = self.views[self.topologies[0]]
            train = view.y[self.split["train"]].astype(np.float64)
            if self.step_values or view.out_lengths is not None:  # not the padding
                train = train[self.valid_steps("train")]
            self.target_loc = float(train.mean())
            self.target_scale = max(float(train.std()), SD_FLOOR)

    def _datasets(
        self, topology: str, seq_len: int | None, scaling: str
    ) -> dict[str, TensorBatches]:
        """:meth:`ArrayData._datasets`; a regression target standardized, with the ``loc`` and
        ``scale`` that bring the network's output back to the target's units."""
        import torch

        datasets = super()._datasets(topology, seq_len, scaling)
        if self.kind == "tokens" or self.step_values:  # cut with the batch's inputs
            for batches in datasets.values():
                batches.trim_targets = True
        if self.kind != "regression":
            return datasets
        for batches in datasets.values():
            rows = batches.tensors["y"].shape[0]
            batches.tensors["y"] = (batches.tensors["y"] - self.target_loc) / self.target_scale
            batches.tensors["loc"] = torch.full((rows, 1, 1), self.target_loc)
            batches.tensors["scale"] = torch.full((rows, 1, 1), self.target_scale)
        return datasets

    def score(self, split: str, predictions: npt.ArrayLike) -> dict[str, float]:
        """:meth:`ArrayData.score`; per-step predictions narrower than the longest sequence
        (each batch is cut to its own longest) are padded to its width first."""
        p = np.asarray(predictions)
        if self.step_values:
            return self._step_scores(split, p)
        if self.kind == "tokens":
            width = self.views[self.topologies[0]].y.shape[1]
            p = np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=PAD_TOKEN)
        return super().score(split, p)

    def valid_steps(self, split: str) -> np.ndarray:
        """``[n, W]`` True at the real (unpadded) target steps of a split's rows: each input
        step (per-step targets), or each output step (pairs whose outputs differ in length)."""
        view = self.views[self.topologies[0]]
        lengths = view.lengths if view.out_lengths is None else view.out_lengths
        assert lengths is not None
        return np.arange(view.y.shape[1])[None, :] < lengths[self.split[split]][:, None]

    def _step_scores(self, split: str, p: np.ndarray) -> dict[str, float]:
        """Per-step regression: MAE and MSE over the valid steps, against the training mean."""
        self.check_split(split)
        y = self.views[self.topologies[0]].y[self.split[split]].astype(np.float64)
        p = p.astype(np.float64).reshape(len(y), -1, y.shape[2])
        p = np.pad(p, ((0, 0), (0, y.shape[1] - p.shape[1]), (0, 0)))
        valid = self.valid_steps(split)
        y, p = y[valid], p[valid]
        mean = np.full_like(y, self.target_loc)
        return {
            f"{split}_mse": metrics.mse(y, p),
            f"{split}_mae": metrics.mae(y, p),
            f"{split}_mean_mse": metrics.mse(y, mean),
            f"{split}_mean_mae": metrics.mae(y, mean),
        }

    def summary(self) -> dict[str, Any]:
        view = self.views[self.topologies[0]]
        out = super().summary()
        out["sequences"] = len(self.ids)
        if self.topologies[0] in ("vec2seq", "encoder_decoder"):  # a sequence answered per id
            out["output_steps"] = int(view.y.shape[1])  # the most any id answers
            if view.out_lengths is not None:
                out["output_lengths"] = _spread(view.out_lengths)
        if view.lengths is None:  # static features to a sequence
            return out
        out["lengths"] = _spread(view.lengths)
        return out


def _spread(lengths: np.ndarray) -> dict[str, float]:
    """Minimum, median and maximum of ``lengths``, for ``inspect``."""
    return {
        "min": int(lengths.min()),
        "median": float(np.median(lengths)),
        "max": int(lengths.max()),
    }


def _constant_within_id(
    table: Table,
    target: str,
    label_codes: np.ndarray,
    labels: np.ndarray,
    grouped: Grouped,
) -> np.ndarray:
    """Positions (in the ordered rows) of each id's first row; the label (``labels`` coded as
    ``label_codes``, in row order) must not change within an id."""
    codes = grouped.codes
    starts = np.flatnonzero(np.r_[True, np.diff(codes) != 0])
    changed = np.flatnonzero((np.diff(label_codes) != 0) & (np.diff(codes) == 0))
    if changed.size:
        i = int(changed[0])
        before, after = labels[label_codes[i]], labels[label_codes[i + 1]]
        raise DataError(
            f"{table.path}: column '{target}' changes within one id at "
            f"{table.where(int(grouped.order[i + 1]))} ({str(before)!r} -> {str(after)!r}); a labelled "
            "sequence has one label per id (give --per-step if the target labels each step, or "
            "--horizon N to forecast each id's series)"
        )
    return starts


def _step_numbers(
    table: Table,
    target: str,
    labels: np.ndarray,
    ordered: np.ndarray,
    where: tuple[np.ndarray, np.ndarray],
    sequences: int,
) -> np.ndarray:
    """A value at every step: ``y`` float32 ``[sequences, T_max, 1]``, 0 past each end (never
    scored). ``labels`` are the target's distinct values as text, ``ordered`` each ordered row's
    code into them, ``where`` each ordered row's (sequence, step)."""
    values = pd.to_numeric(pd.Series(labels), errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        bad = str(labels[int(np.argmax(np.isnan(values)))])
        raise DataError(
            f"{table.path}: column '{target}' has {bad!r}, not a number; a per-step regression "
            "target needs numbers (or give --kind classification)"
        )
    if np.ptp(values) == 0:
        raise DataError(f"{table.path}: column '{target}' is {values[0]:g} at every step")
    codes, positions = where
    y = np.zeros((sequences, int(positions.max()) + 1, 1), dtype=np.float32)
    y[codes, positions, 0] = values[ordered]
    return y


def infer_kind(targets: np.ndarray) -> str:
    """Text, or integers with few distinct values: classification; other numbers: regression."""
    numbers = pd.to_numeric(pd.Series(targets), errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(numbers).any():
        return "classification"
    integral = bool(np.all(numbers == np.round(numbers)))
    if integral and len(np.unique(numbers)) <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def _classes(table: Table, target: str, targets: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    names, counts = np.unique(targets, return_counts=True)
    if len(names) < 2:
        raise DataError(
            f"{table.path}: column '{target}' has one value ('{names[0]}') for every id; a "
            "classifier needs at least two classes"
        )
    if counts.min() < MIN_PER_CLASS:
        rare = names[int(np.argmin(counts))]
        raise DataError(
            f"{table.path}: class '{rare}' of column '{target}' has {counts.min()} sequence(s); "
            f"each class needs >= {MIN_PER_CLASS} (one each to train, validate and test): add "
            "sequences or merge the class"
        )
    names = class_order(names)
    index = {name: i for i, name in enumerate(names)}
    return np.asarray([index[t] for t in targets], dtype=np.int64), tuple(str(n) for n in names)


def _numbers(table: Table, target: str, targets: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(pd.Series(targets), errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        bad = str(targets[int(np.argmax(np.isnan(values)))])
        raise DataError(
            f"{table.path}: column '{target}' has {bad!r}, not a number; a regression target "
            "needs numbers (or give --kind classification)"
        )
    if np.ptp(values) == 0:
        raise DataError(
            f"{table.path}: column '{target}' is {values[0]:g} for every id; there is nothing "
            "to learn"
        )
    return values.astype(np.float32).reshape(-1, 1, 1)


def _notes(
    columns: SequenceColumns, names: np.ndarray, lengths: np.ndarray, table: Table
) -> list[str]:
    order = f"by '{columns.time_col}'" if columns.time_col else "in file order"
    return [
        f"{len(names)} sequences (ids in '{columns.id_col}'), {len(table.frame)} rows; steps "
        f"ordered {order} within each id; lengths {int(lengths.min())}-{int(lengths.max())} "
        f"(median {float(np.median(lengths)):g})"
    ]
