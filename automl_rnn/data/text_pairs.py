"""Text targets from a CSV: text to text (``--text-col source --target-text-col target``, the
encoder-decoder shape) and a row of numbers to text (``--features ... --target-text-col``, the
vector-to-sequence shape). Text to text: each row a pair,
read character by character on both sides, the encoder-decoder shape (translation, normalising,
transliteration). Trained and scored as the ``tokens`` kind: the input alphabet and the output
characters come from the training rows (a character never seen there reads as "unknown" and
can never be answered); outputs end with the padding class, which the model learns to emit, so
``exact`` asks for the whole target and nothing after it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl_rnn.data.arrays import ArrayData, View
from automl_rnn.data.contract import PAD_LABEL
from automl_rnn.data.csvread import Table, read_table
from automl_rnn.data.scaling import rows_mask, standardize
from automl_rnn.data.splits import seeded_split
from automl_rnn.data.text import MAX_CHARS, MIN_ROWS, char_ids
from automl_rnn.errors import DataError

#: The output class of a target character no training row holds (never right).
UNSEEN_OUTPUT = "\ufffd"


def read_text_pairs(path: str | Path, text_col: str, target_col: str, seed: int = 0) -> ArrayData:
    """Pairs of texts -> an ``encoder_decoder`` view: one-hot source characters (variable
    lengths), target character ids padded with PAD (0)."""
    table = read_table(path)
    sources = _texts(table, text_col, "--text-col")
    targets = _target_texts(table, target_col)
    n = len(sources)
    split = seeded_split(n, seed=seed)
    notes: list[str] = []
    train = split["train"]
    x, lengths, alphabet = char_ids(sources, train, notes, "source texts")
    y, vocab = _target_ids(targets, train)
    view = View(x, y, one_hot=len(alphabet) + 1, lengths=lengths)
    return ArrayData(
        Path(path).stem, "tokens", {"encoder_decoder": view}, split, "exact", str(path),
        vocab=vocab, notes=notes, alphabet=tuple(alphabet),
    )  # fmt: skip


class VectorTextData(ArrayData):
    """A row of numbers -> a text (``vec2seq``), remembering the features' scaling (export)."""

    def __init__(
        self,
        *args: object,
        features: tuple[str, ...],
        feature_mu: np.ndarray,
        feature_sd: np.ndarray,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.features, self.feature_mu, self.feature_sd = features, feature_mu, feature_sd


def read_vector_text(
    path: str | Path, features: tuple[str, ...], target_col: str, seed: int = 0
) -> VectorTextData:
    """``--features`` (one vector per row) -> ``--target-text-col``: the vector-to-sequence
    shape (parameters to a caption, a code to a name); features standardized with statistics
    of the training rows only."""
    table = read_table(path)
    targets = _target_texts(table, target_col)
    x = np.stack([table.numeric(c, "--features") for c in features], axis=1)
    if np.isnan(x).any():
        i, j = (int(k) for k in np.argwhere(np.isnan(x))[0])
        raise DataError(
            f"{path}: column '{features[j]}' is empty at {table.where(i)}; every row needs every "
            "feature"
        )
    split = seeded_split(len(targets), seed=seed)
    mu, sd = standardize(x, rows_mask(len(x), split["train"]))
    y, vocab = _target_ids(targets, split["train"])
    view = View(x.astype(np.float32), y)
    return VectorTextData(
        Path(path).stem, "tokens", {"vec2seq": view}, split, "exact", str(path), vocab=vocab,
        features=features, feature_mu=mu, feature_sd=sd,
    )  # fmt: skip


def _texts(table: Table, name: str, role: str) -> list[str]:
    column = table.column(name, role)
    if column.isna().any():
        i = int(np.argmax(column.isna().to_numpy()))
        raise DataError(
            f"{table.path}: column '{name}' is empty at {table.where(i)}; every row needs it"
        )
    return [str(t) for t in column]


def _target_texts(table: Table, name: str) -> list[str]:
    """The target texts, checked: enough rows, not too long, not all the same."""
    targets = _texts(table, name, "--target-text-col")
    n = len(targets)
    if n < MIN_ROWS:
        raise DataError(
            f"{table.path}: {n} rows is too few to train and validate; needs >= {MIN_ROWS}"
        )
    longest = max(range(n), key=lambda i: len(targets[i]))
    if len(targets[longest]) > MAX_CHARS:
        raise DataError(
            f"{table.path}: column '{name}' holds {len(targets[longest])} characters at "
            f"{table.where(longest)}; targets of at most {MAX_CHARS} characters are supported"
        )
    if len(set(targets)) < 2:
        raise DataError(
            f"{table.path}: column '{name}' holds one text ('{targets[0]}') in every row; there "
            "is nothing to learn"
        )
    return targets


def _target_ids(targets: list[str], train: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """(``y`` ``[N, longest + 1]``: each target's character ids, then PAD; the output vocabulary:
    PAD, the training rows' characters, the unseen-character class)."""
    vocab = (PAD_LABEL, *sorted(set("".join(targets[i] for i in train))), UNSEEN_OUTPUT)
    out_ids = {ch: i for i, ch in enumerate(vocab)}
    y = np.zeros((len(targets), max(len(t) for t in targets) + 1), dtype=np.int64)
    for row, text in enumerate(targets):
        y[row, : len(text)] = [out_ids.get(ch, len(vocab) - 1) for ch in text]
    return y, vocab
