"""The 8×8 digits (scikit-learn's copy of the UCI set, shipped as CSV): read row by row for
classification, or as one 64-d vector captioned with the digit's English name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from automl_rnn.data.arrays import View
from automl_rnn.data.contract import PAD_LABEL
from automl_rnn.errors import DataError

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PIXELS = tuple(f"p{i}" for i in range(64))


def read_digits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``[N, 64]`` scaled to [0, 1] (float32) and labels ``[N]`` (int64)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: cannot read the digits CSV ({type(err).__name__})") from None
    missing = [c for c in (*PIXELS, "label") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: digits CSV lacks column '{missing[0]}' (needs p0..p63, label)")
    pixels = frame[list(PIXELS)].to_numpy()
    labels = frame["label"].to_numpy()
    if not np.issubdtype(pixels.dtype, np.number) or pixels.min() < 0 or pixels.max() > 16:
        raise DataError(f"{path}: digits pixels must be integers in 0..16")
    if not np.isin(labels, np.arange(10)).all():
        raise DataError(f"{path}: digits labels must be 0..9")
    return (pixels / 16.0).astype(np.float32), labels.astype(np.int64)


def digits_rows(path: Path) -> tuple[View, tuple[str, ...]]:
    """Classification view: x ``[N, 8, 8]`` (8 steps of one pixel row each), y class ``[N]``."""
    pixels, labels = read_digits(path)
    return View(pixels.reshape(-1, 8, 8), labels), tuple(str(i) for i in range(10))


def digits_caption(path: Path) -> tuple[View, tuple[str, ...]]:
    """vec2seq view: x ``[N, 64]``, y the name's letters ``[N, 5]`` padded with PAD (0)."""
    pixels, labels = read_digits(path)
    vocab = (PAD_LABEL, *sorted(set("".join(NAMES))))
    ids = {ch: i for i, ch in enumerate(vocab)}
    width = max(len(name) for name in NAMES)
    table = np.zeros((10, width), dtype=np.int64)
    for digit, name in enumerate(NAMES):
        table[digit, : len(name)] = [ids[ch] for ch in name]
    return View(pixels, table[labels]), vocab
