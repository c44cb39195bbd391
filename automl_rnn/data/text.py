"""Sequence classification from a CSV: a text column read character by character, a label column."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.csvread import read_table
from automl_rnn.data.splits import seeded_split
from automl_rnn.errors import DataError

log = logging.getLogger("automl_rnn.data")

MAX_CHARS = 400
"""Longer texts are cut to their first MAX_CHARS characters (with a note)."""
MIN_ROWS = 20


def read_text_task(path: str | Path, text_col: str, label_col: str, seed: int = 0) -> ArrayData:
    """Char-level classification data: one-hot characters (variable lengths) → class."""
    table = read_table(path)
    texts, labels = table.column(text_col, "--text-col"), table.column(label_col, "--target")
    for column, series in ((label_col, labels), (text_col, texts)):
        if series.isna().any():
            i = int(np.argmax(series.isna().to_numpy()))
            raise DataError(
                f"{path}: column '{column}' is empty at {table.where(i)}; every row needs a text "
                "and a label"
            )
    n = len(texts)
    if n < MIN_ROWS:
        raise DataError(f"{path}: {n} rows is too few to train and validate; needs >= {MIN_ROWS}")
    names = sorted(set(labels), key=lambda v: (float(v), v) if _is_number(v) else (float("inf"), v))
    if len(names) < 2:
        raise DataError(
            f"{path}: target column '{label_col}' is constant ('{names[0]}'); a classifier needs "
            "at least two classes"
        )
    class_of = {name: i for i, name in enumerate(names)}
    y = np.array([class_of[v] for v in labels], dtype=np.int64)
    split = seeded_split(n, seed=seed)
    notes: list[str] = []
    x, lengths, alphabet = char_ids([str(t) for t in texts], split["train"], notes, "texts")
    if notes:
        log.warning("%s: %s", path, notes[-1])
    view = View(x, y, one_hot=len(alphabet) + 1, lengths=lengths)
    return ArrayData(
        Path(path).stem, "classification", {"seq2vec": view}, split, "accuracy", str(path),
        classes=tuple(names), notes=notes, alphabet=tuple(alphabet),
    )  # fmt: skip


def char_ids(
    strings: list[str], train: np.ndarray, notes: list[str], what: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Texts read character by character: (ids ``[N, longest]``, 0 = padding, 1.. the training
    rows' characters, ``len(alphabet) + 1`` a character never seen in training; each text's
    length; the alphabet). Texts over :data:`MAX_CHARS` are cut, with a note on ``what`` was."""
    if max(len(s) for s in strings) > MAX_CHARS:
        cut = sum(len(s) > MAX_CHARS for s in strings)
        notes.append(f"{cut} {what} longer than {MAX_CHARS} characters were cut")
        strings = [s[:MAX_CHARS] for s in strings]
    alphabet = sorted(set("".join(strings[i] for i in train)))
    ids = {ch: i + 1 for i, ch in enumerate(alphabet)}
    unknown = len(alphabet) + 1
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    x = np.zeros((len(strings), int(lengths.max())), dtype=np.int64)
    for row, text in enumerate(strings):
        x[row, : len(text)] = [ids.get(ch, unknown) for ch in text]
    return x, lengths, alphabet


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
