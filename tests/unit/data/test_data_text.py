"""Text classification from a CSV: characters one-hot, variable lengths carried in ``lengths``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from automl_rnn.data import prepare
from automl_rnn.data.arrays import ArrayData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import DataError

GOOD = ["great film", "loved it!", "superb", "a joy to watch, truly"]
BAD = ["dull", "awful, boring plot", "no", "waste of time"]


def _write(path: Path, rows: list[tuple[str, str]], sep: str = ",") -> Path:
    path.write_text(f"text{sep}label\n" + "".join(f'"{t}"{sep}{lab}\n' for t, lab in rows))
    return path


def _rows(n: int = 40) -> list[tuple[str, str]]:
    return [(GOOD[i % 4], "pos") if i % 2 else (BAD[i % 4], "neg") for i in range(n)]


def _prepare(path: Path) -> ArrayData:
    data = prepare(DataSource.from_args({"data": str(path), "text_col": "text", "target": "label"}))
    assert isinstance(data, ArrayData)
    return data


def test_variable_length_batches_carry_lengths(tmp_path: Path) -> None:
    rows = _rows()
    data = _prepare(_write(tmp_path / "reviews.csv", rows, sep=";"))
    assert data.kind == "classification" and data.topologies == ("seq2vec",)
    assert data.classes == ("neg", "pos")
    shape = data.shape("seq2vec")
    assert shape.variable_length and shape.output_size == 2
    loaders = data.loaders("seq2vec", None, batch_size=8, seed=0)
    seen = 0
    for batch in loaders.val:
        x, lengths, y = batch["x"], batch["lengths"], batch["y"]
        assert x.shape[0] == lengths.shape[0] == y.shape[0]
        assert x.shape[1] == int(lengths.max())  # trimmed to the batch's longest text
        assert x.shape[2] == shape.input_size
        for row, length in enumerate(lengths.tolist()):
            text = rows[int(data.split["val"][seen + row])][0]
            assert length == len(text)
            assert torch.all(x[row, :length].sum(dim=1) == 1)  # one character per step
            assert torch.all(x[row, length:] == 0)  # right padding
        seen += len(lengths)
    assert seen == len(data.split["val"])


def test_texts_of_different_lengths_in_one_batch(tmp_path: Path) -> None:
    data = _prepare(_write(tmp_path / "r.csv", _rows()))
    batch = next(iter(data.loaders("seq2vec", None, batch_size=64).train))
    assert len(set(batch["lengths"].tolist())) > 1


def test_the_alphabet_is_the_training_characters_in_id_order(tmp_path: Path) -> None:
    rows = _rows()
    data = _prepare(_write(tmp_path / "r.csv", rows))
    seen = set("".join(rows[int(i)][0] for i in data.split["train"]))
    assert data.alphabet == tuple(sorted(seen))
    assert data.shape("seq2vec").input_size == len(data.alphabet) + 1  # and the unknown id
    view = data.views["seq2vec"]
    row = int(data.split["train"][0])
    ids = view.x[row, : len(rows[row][0])]
    assert "".join(data.alphabet[i - 1] for i in ids) == rows[row][0]


def test_constant_label_is_refused(tmp_path: Path) -> None:
    rows = [(t, "pos") for t, _ in _rows()]
    with pytest.raises(DataError, match=r"target column 'label' is constant \('pos'\)"):
        _prepare(_write(tmp_path / "c.csv", rows))


def test_empty_text_names_its_line(tmp_path: Path) -> None:
    rows = _rows()
    rows[4] = ("", "neg")
    with pytest.raises(DataError, match=r"column 'text' is empty at line 6"):
        _prepare(_write(tmp_path / "e.csv", rows))


def test_majority_baseline_and_scores(tmp_path: Path) -> None:
    data = _prepare(_write(tmp_path / "s.csv", _rows()))
    truth = np.concatenate([b["y"].numpy() for b in data.loaders("seq2vec", None, 16).test])
    scores = data.score("test", truth)
    assert scores["test_accuracy"] == 1.0 and scores["test_macro_f1"] == 1.0
    assert 0.0 <= scores["test_majority_accuracy"] <= 1.0
