"""Text to text from the user's own CSV, end to end through the CLI: ``search`` with
``--text-col`` and ``--target-text-col``, ``export``, and ``predict`` in a fresh process: one
decoded text per row, the search's own model's answer on the test rows."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.images import PIXELS
from tests.e2e.test_export_predict import TASKS, Exported, cli, in_memory, search_export_by_cli

pytestmark = pytest.mark.slow
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip


def date_pairs(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """'3 March 2001' -> '2001-03-03'."""
    rng = np.random.default_rng(seed)
    days = [dt.date(1990, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 12000, rows)]
    return pd.DataFrame(
        {"human": [f"{d.day} {MONTHS[d.month - 1]} {d.year}" for d in days],
         "iso": [d.isoformat() for d in days]}
    )  # fmt: skip


def captions(rows: int = 400) -> pd.DataFrame:
    """The shipped digits' 64 pixels -> the digit's name (``seven``)."""
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    digits = pd.read_csv(TASKS / "digits.csv").head(rows)
    return digits.drop(columns="label").assign(caption=[names[i] for i in digits["label"]])


def searched(root: Path, table: pd.DataFrame, flags: list[str], source: dict[str, str]) -> Exported:
    table.to_csv(root / "pairs.csv", index=False)
    return search_export_by_cli(root, root / "pairs.csv", flags, source)


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("text-pairs")
    flags = ["--text-col", "human", "--target-text-col", "iso"]
    return searched(root, date_pairs(), flags, {"text_col": "human", "target_text_col": "iso"})


@pytest.fixture(scope="module")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("vector-text")
    pixels = ",".join(PIXELS)
    flags = ["--features", pixels, "--target-text-col", "caption"]
    return searched(root, captions(), flags, {"features": pixels, "target_text_col": "caption"})


def test_a_row_of_numbers_predicts_the_search_models_text(
    captioned: Exported, tmp_path: Path
) -> None:
    prepared, expected = in_memory(captioned)
    assert (prepared.kind, prepared.topologies) == ("tokens", ("vec2seq",))
    rows = prepared.split["test"]
    captions()[list(PIXELS)].iloc[rows].to_csv(tmp_path / "new.csv", index=False)
    done = cli("predict", "--model", str(captioned.folder), "--data", str(tmp_path / "new.csv"))
    assert done.returncode == 0, done.stderr
    answers = pd.read_csv(io.StringIO(done.stdout), dtype=str, keep_default_na=False)
    assert answers["prediction"].tolist() == prepared.decode(expected)


def test_predict_writes_the_search_models_text_for_each_row(
    translated: Exported, tmp_path: Path
) -> None:
    prepared, expected = in_memory(translated)
    assert (prepared.kind, prepared.topologies) == ("tokens", ("encoder_decoder",))
    wanted = prepared.decode(expected)
    rows = prepared.split["test"]
    sources = date_pairs()["human"].iloc[rows]
    sources.to_frame().to_csv(tmp_path / "new.csv", index=False)
    for engine in ("onnx", "torchscript"):
        done = cli("predict", "--model", str(translated.folder), "--data",
                   str(tmp_path / "new.csv"), "--engine", engine, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        answers = pd.read_csv(io.StringIO(done.stdout), dtype=str, keep_default_na=False)
        assert answers["human"].tolist() == sources.tolist()
        assert answers["prediction"].tolist() == wanted, engine
