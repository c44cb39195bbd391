"""Text to text from a CSV (``--text-col source --target-text-col target``): each row a pair,
read character by character on both sides, the encoder-decoder shape (translation, normalising,
transliteration). Trained and scored as the ``tokens`` kind: the input alphabet and the output
characters come from the training rows (a character never seen there reads as "unknown" and
can never be answered); outputs end with the padding class, which the model learns to emit, so
``exact`` asks for the whole target and nothing after it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from automl_rnn.data.arrays import ArrayData, View, seeded_split
from automl_rnn.data.csvread import read_table
from automl_rnn.data.step_labels import PAD_LABEL
from automl_rnn.data.text import MAX_CHARS, MIN_ROWS
from automl_rnn.errors import DataError

#: The output class of a target character no training row holds (never right).
UNSEEN_OUTPUT = "\ufffd"


def read_text_pairs(path: str | Path, text_col: str, target_col: str, seed: int = 0) -> ArrayData:
    """Pairs of texts -> an ``encoder_decoder`` view: one-hot source characters (variable
    lengths), target character ids padded with PAD (0)."""
    table = read_table(path)
    columns = {text_col: "--text-col", target_col: "--target-text-col"}
    texts: dict[str, list[str]] = {}
    for name, role in columns.items():
        column = table.column(name, role)
        if column.isna().any():
            i = int(np.argmax(column.isna().to_numpy()))
            raise DataError(
                f"{path}: column '{name}' is empty at {table.where(i)}; every row needs a "
                "source and a target text"
            )
        texts[name] = [str(t) for t in column]
    sources, targets = texts[text_col], texts[target_col]
    n = len(sources)
    if n < MIN_ROWS:
        raise DataError(f"{path}: {n} rows is too few to train and validate; needs >= {MIN_ROWS}")
    longest = max(range(n), key=lambda i: len(targets[i]))
    if len(targets[longest]) > MAX_CHARS:
        raise DataError(
            f"{path}: column '{target_col}' holds {len(targets[longest])} characters at "
            f"{table.where(longest)}; targets of at most {MAX_CHARS} characters are supported"
        )
    if len(set(targets)) < 2:
        raise DataError(
            f"{path}: column '{target_col}' holds one text ('{targets[0]}') in every row; there "
            "is nothing to learn"
        )
    split = seeded_split(n, 0.15, 0.15, seed)
    notes = []
    if max(len(s) for s in sources) > MAX_CHARS:
        cut = sum(len(s) > MAX_CHARS for s in sources)
        notes.append(f"{cut} source texts longer than {MAX_CHARS} characters were cut")
        sources = [s[:MAX_CHARS] for s in sources]
    train = split["train"]
    alphabet = sorted(set("".join(sources[i] for i in train)))
    ids = {ch: i + 1 for i, ch in enumerate(alphabet)}
    unknown = len(alphabet) + 1
    lengths = np.array([len(s) for s in sources], dtype=np.int64)
    x = np.zeros((n, int(lengths.max())), dtype=np.int64)
    for row, text in enumerate(sources):
        x[row, : len(text)] = [ids.get(ch, unknown) for ch in text]
    vocab = (PAD_LABEL, *sorted(set("".join(targets[i] for i in train))), UNSEEN_OUTPUT)
    out_ids = {ch: i for i, ch in enumerate(vocab)}
    y = np.zeros((n, max(len(t) for t in targets) + 1), dtype=np.int64)  # + the PAD that ends it
    for row, text in enumerate(targets):
        y[row, : len(text)] = [out_ids.get(ch, len(vocab) - 1) for ch in text]
    view = View(x, y, one_hot=unknown, lengths=lengths)
    return ArrayData(
        Path(path).stem, "tokens", {"encoder_decoder": view}, split, "exact", str(path),
        vocab=vocab, notes=notes, alphabet=tuple(alphabet),
    )  # fmt: skip
