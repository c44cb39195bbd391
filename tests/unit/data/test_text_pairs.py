"""Text-to-text pairs from a CSV (``--text-col`` with ``--target-text-col``): what the
encoder-decoder sees, built from the training rows only, and the one-line refusals."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.contract import PAD_TOKEN
from automl_rnn.data.source import DataSource
from automl_rnn.data.text_pairs import UNSEEN_OUTPUT, read_text_pairs, read_vector_text
from automl_rnn.errors import ConfigError, DataError


def pairs(rows: int = 60) -> pd.DataFrame:
    """Numbers written out -> their digits (``'three one' -> '31'``)."""
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    rng = np.random.default_rng(0)
    numbers = rng.integers(0, 1000, rows)
    return pd.DataFrame(
        {"spoken": [" ".join(words[int(d)] for d in str(n)) for n in numbers],
         "digits": [str(n) for n in numbers]}
    )  # fmt: skip


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_sources_and_targets_are_encoded_as_the_training_rows_define_them(tmp_path: Path) -> None:
    data = read_text_pairs(write(pairs(), tmp_path / "p.csv"), "spoken", "digits")
    view = data.views["encoder_decoder"]
    assert (data.kind, data.topologies, data.metric) == ("tokens", ("encoder_decoder",), "exact")
    assert view.lengths is not None
    frame = pairs()
    for row in range(len(frame)):
        source, target = frame["spoken"][row], frame["digits"][row]
        ids = view.x[row, : view.lengths[row]]
        assert "".join(data.alphabet[i - 1] for i in ids) == source
        assert data.decode(view.y[row : row + 1]) == [target]
        assert view.y[row, len(target)] == PAD_TOKEN  # the model must learn to stop


def test_characters_seen_only_outside_training_are_unknown(tmp_path: Path) -> None:
    frame = pairs()
    clean = read_text_pairs(write(frame, tmp_path / "clean.csv"), "spoken", "digits")
    held_out = int(clean.split["test"][0])
    frame.loc[held_out, ["spoken", "digits"]] = ["Ω one", "1Ω"]
    data = read_text_pairs(write(frame, tmp_path / "p.csv"), "spoken", "digits")
    assert "Ω" not in data.alphabet and "Ω" not in data.vocab
    view = data.views["encoder_decoder"]
    assert view.x[held_out, 0] == len(data.alphabet) + 1  # the unknown input id
    assert data.vocab[view.y[held_out, 1]] == UNSEEN_OUTPUT
    assert data.fingerprint != clean.fingerprint


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.assign(digits="7"), "holds one text ('7') in every row"),
        (lambda f: f.assign(spoken=f["spoken"].where(f.index != 4)), "'spoken' is empty at line 6"),
        (lambda f: f.head(10), "10 rows is too few"),
        (
            lambda f: f.assign(digits=f["digits"].where(f.index != 2, "9" * 401)),
            "401 characters at line 4",
        ),
    ],
)
def test_bad_pairs_are_refused_in_one_line(tmp_path: Path, change: object, expected: str) -> None:
    path = write(change(pairs()), tmp_path / "p.csv")  # type: ignore[operator]
    with pytest.raises(DataError, match=re.escape(expected)) as refused:
        read_text_pairs(path, "spoken", "digits")
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"target_text_col": "digits", "target": "x"}, "needs one of --text-col"),
        ({"text_col": "spoken", "target_text_col": "digits", "target": "x"}, "drop --target"),
        ({"text_col": "spoken", "target_text_col": "spoken"}, "both a source and the target"),
        ({"text_col": "s", "features": "a", "target_text_col": "t"}, "needs one of --text-col"),
    ],
)
def test_pair_flags_are_checked_before_reading(flags: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        DataSource.from_args({"data": "p.csv", **flags})


# ---- a row of numbers to a text (--features with --target-text-col): vector -> sequence -----


def vector_rows(rows: int = 60) -> pd.DataFrame:
    """Two numbers -> the name of the larger one's column and its sign (``'a+'``, ``'b-'``)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, rows), rng.normal(5, 3, rows)
    larger = np.where(np.abs(a) > np.abs(b - 5) / 3, "a", "b")
    sign = np.where(np.where(larger == "a", a, b - 5) > 0, "+", "-")
    return pd.DataFrame({"a": a.round(4), "b": b.round(4), "label": np.char.add(larger, sign)})


def test_a_vector_row_is_standardized_with_training_statistics(tmp_path: Path) -> None:
    frame = vector_rows()
    data = read_vector_text(write(frame, tmp_path / "v.csv"), ("a", "b"), "label")
    assert (data.kind, data.topologies) == ("tokens", ("vec2seq",))
    train = data.split["train"]
    expected = (frame[["a", "b"]].to_numpy() - frame[["a", "b"]].to_numpy()[train].mean(0)) / (
        frame[["a", "b"]].to_numpy()[train].std(0)
    )
    assert np.allclose(data.views["vec2seq"].x, expected, atol=1e-5)
    poisoned = frame.copy()
    poisoned.loc[data.split["test"], "a"] = 1e6  # held-out rows move no statistic
    dirty = read_vector_text(write(poisoned, tmp_path / "p.csv"), ("a", "b"), "label")
    assert np.allclose(dirty.feature_mu, data.feature_mu)
    assert data.decode(data.views["vec2seq"].y[:3]) == frame["label"][:3].tolist()


def test_a_vector_row_with_an_empty_feature_is_refused(tmp_path: Path) -> None:
    frame = vector_rows()
    frame.loc[7, "b"] = np.nan
    with pytest.raises(DataError, match=r"column 'b' is empty at line 9"):
        read_vector_text(write(frame, tmp_path / "v.csv"), ("a", "b"), "label")
    with pytest.raises(ConfigError, match="needs one of --text-col"):
        DataSource.from_args({"data": "v.csv", "target_text_col": "label"})
