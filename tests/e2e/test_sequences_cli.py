"""Labelled sequences from the user's own long table, end to end through the CLI: ``inspect``,
``search``, ``best``, ``export``, and ``predict`` in a fresh process on a new table whose rows come
in any order; one answer per id, equal to the search's own model on the test sequences."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.test_export_predict import Exported, cli, in_memory, search_export_by_cli

pytestmark = pytest.mark.slow


def activity_table(regression: bool = False, ids: int = 45, seed: int = 0) -> pd.DataFrame:
    """Recordings of 6..18 steps of three channels; the label (or value) is the oscillation's
    frequency, so the model must read the whole sequence."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(ids):
        n, freq = int(rng.integers(6, 19)), (0.2, 0.9, 2.0)[i % 3]
        if regression:
            freq = float(rng.uniform(0.2, 2.0))
        steps = np.arange(n)
        parts.append(
            pd.DataFrame(
                {
                    "recording": f"rec-{i}",
                    "t": steps,
                    "ax": np.sin(freq * steps) + rng.normal(0, 0.1, n),
                    "ay": np.cos(freq * steps),
                    "az": rng.normal(0, 1, n),
                    "target": 100 * freq if regression else ("sit", "walk", "run")[i % 3],
                }
            )
        )
    return pd.concat(parts, ignore_index=True).round(4)


FLAGS = ["--id-col", "recording", "--time-col", "t", "--features", "ax,ay,az", "--target", "target"]


def step_table(ids: int = 40, seed: int = 0) -> pd.DataFrame:
    """Recordings of 10..24 steps, ``target`` labelling each step: 'still' (small noise) until a
    random step, 'move' (an oscillation) from it."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(ids):
        n = int(rng.integers(10, 25))
        moving = np.arange(n) >= int(rng.integers(2, n - 2))
        amplitude = np.where(moving, 1.0, 0.05)
        parts.append(
            pd.DataFrame(
                {
                    "recording": f"rec-{i}",
                    "t": np.arange(n),
                    "ax": amplitude * np.sin(1.3 * np.arange(n)),
                    "ay": amplitude * rng.normal(0, 1, n),
                    "az": rng.normal(0, 0.1, n),
                    "target": np.where(moving, "move", "still"),
                }
            )
        )
    return pd.concat(parts, ignore_index=True).round(4)


def searched(root: Path, regression: bool = False, per_step: bool = False) -> Exported:
    data = root / "recordings.csv"
    table = step_table() if per_step else activity_table(regression)
    table.sample(frac=1.0, random_state=1).to_csv(data, index=False)
    flags = [*FLAGS, "--per-step"] if per_step else FLAGS
    source = {"id_col": "recording", "time_col": "t", "features": "ax,ay,az", "target": "target"}
    return search_export_by_cli(
        root, data, flags, {**source, **({"per_step": True} if per_step else {})}
    )


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return searched(tmp_path_factory.mktemp("seq-classification"), regression=False)


@pytest.fixture(scope="module")
def labelled_steps(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return searched(tmp_path_factory.mktemp("seq-per-step"), per_step=True)


@pytest.fixture(scope="module")
def regressed(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return searched(tmp_path_factory.mktemp("seq-regression"), regression=True)


def test_inspect_describes_the_sequences(tmp_path: Path) -> None:
    data = tmp_path / "recordings.csv"
    activity_table().to_csv(data, index=False)
    done = cli("inspect", "--data", str(data), *FLAGS, "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    assert found["kind"] == "classification" and found["topologies"] == ["seq2vec"]
    assert found["sequences"] == 45 and found["classes"] == {"run": 15, "sit": 15, "walk": 15}
    lengths = activity_table().groupby("recording").size()
    assert found["lengths"] == {
        "min": int(lengths.min()), "median": float(lengths.median()), "max": int(lengths.max())
    }  # fmt: skip
    assert found["split_rows"] == {"train": 33, "val": 6, "test": 6}


def predicted(exported: Exported, tmp_path: Path) -> tuple[Any, np.ndarray, pd.DataFrame]:
    """(prepared data, the in-memory model's test predictions, ``predict``'s table for the test
    sequences, given shuffled and without their labels, in a fresh process per engine)."""
    prepared, expected = in_memory(exported)
    test_ids = [prepared.ids[k] for k in prepared.split["test"]]
    table = pd.read_csv(exported.source["data"])
    new = table[table["recording"].isin(test_ids)].drop(columns="target")
    new.sample(frac=1.0, random_state=7).to_csv(tmp_path / "new.csv", index=False)
    frames = []
    for engine in ("onnx", "torchscript"):
        done = cli("predict", "--model", str(exported.folder), "--data",
                   str(tmp_path / "new.csv"), "--engine", engine, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        frames.append(pd.read_csv(io.StringIO(done.stdout), dtype={"recording": str}))
    assert frames[0]["recording"].tolist() == frames[1]["recording"].tolist()
    by_id = frames[0].set_index("recording").loc[test_ids]
    return prepared, expected, by_id


def test_classification_predicts_one_class_per_id_as_the_search_model_does(
    classified: Exported, tmp_path: Path
) -> None:
    prepared, expected, by_id = predicted(classified, tmp_path)
    assert by_id["prediction"].tolist() == prepared.decode(expected)
    assert by_id["probability"].between(0, 1).all()


def test_regression_predicts_one_value_per_id_in_the_targets_units(
    regressed: Exported, tmp_path: Path
) -> None:
    prepared, expected, by_id = predicted(regressed, tmp_path)
    assert prepared.kind == "regression"
    assert np.allclose(by_id["prediction"].to_numpy(), expected.reshape(-1), rtol=1e-4, atol=1e-3)
    assert abs(float(np.median(by_id["prediction"])) - 110) < 90  # in hundreds, not standardized


def test_predict_reads_the_same_table_from_parquet(classified: Exported, tmp_path: Path) -> None:
    table = pd.read_csv(classified.source["data"]).drop(columns="target").head(200)
    table.to_csv(tmp_path / "new.csv", index=False)
    table.to_parquet(tmp_path / "new.parquet")
    answers = []
    for name in ("new.csv", "new.parquet"):
        done = cli("predict", "--model", str(classified.folder), "--data", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        answers.append(done.stdout)
    assert answers[0] == answers[1] and len(answers[0].splitlines()) > 2


def test_per_step_labels_predict_a_class_at_every_step_as_the_search_model_does(
    labelled_steps: Exported, tmp_path: Path
) -> None:
    """``--per-step``: predict answers one row per (id, time), the class the search's own model
    gives that step (where that model's top output is a class, not the padding class)."""
    prepared, expected = in_memory(labelled_steps)  # [test sequences, T] output ids
    assert prepared.kind == "tokens" and prepared.topologies == ("seq2seq",)
    test_ids = [prepared.ids[k] for k in prepared.split["test"]]
    table = pd.read_csv(labelled_steps.source["data"])
    new = table[table["recording"].isin(test_ids)].drop(columns="target")
    new.sample(frac=1.0, random_state=3).to_csv(tmp_path / "new.csv", index=False)
    done = cli(
        "predict", "--model", str(labelled_steps.folder), "--data", str(tmp_path / "new.csv")
    )
    assert done.returncode == 0, done.stderr
    answers = pd.read_csv(io.StringIO(done.stdout), dtype={"recording": str})
    assert list(answers.columns) == ["recording", "t", "prediction", "probability"]
    assert len(answers) == len(new)
    compared = 0
    for row, name in enumerate(test_ids):
        mine = answers[answers["recording"] == name]
        assert mine["t"].tolist() == sorted(new[new["recording"] == name]["t"])
        for step, label in enumerate(mine["prediction"]):
            if expected[row, step] > 0:  # the padding class is never answered
                assert label == prepared.vocab[expected[row, step]], (name, step)
                compared += 1
    assert compared > 0.9 * len(answers)


@pytest.fixture(scope="module")
def step_values(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Per-step regression: ``target`` is the running sum of ``ax`` (a value at every step)."""
    root = tmp_path_factory.mktemp("seq-step-values")
    table = activity_table().drop(columns="target")
    table["target"] = table.groupby("recording")["ax"].cumsum().round(4) + 10.0
    data = root / "levels.csv"
    table.sample(frac=1.0, random_state=2).to_csv(data, index=False)
    source = {"id_col": "recording", "time_col": "t", "features": "ax,ay,az", "target": "target"}
    return search_export_by_cli(root, data, [*FLAGS, "--per-step"], {**source, "per_step": True})


def test_per_step_values_predict_a_value_at_every_step_as_the_search_model_does(
    step_values: Exported, tmp_path: Path
) -> None:
    prepared, expected = in_memory(step_values)  # [test sequences, T, 1] in the target's units
    assert prepared.kind == "regression" and prepared.topologies == ("seq2seq",)
    test_ids = [prepared.ids[k] for k in prepared.split["test"]]
    table = pd.read_csv(step_values.source["data"])
    new = table[table["recording"].isin(test_ids)].drop(columns="target")
    new.to_csv(tmp_path / "new.csv", index=False)
    done = cli("predict", "--model", str(step_values.folder), "--data", str(tmp_path / "new.csv"))
    assert done.returncode == 0, done.stderr
    answers = pd.read_csv(io.StringIO(done.stdout), dtype={"recording": str})
    assert list(answers.columns) == ["recording", "t", "prediction"] and len(answers) == len(new)
    lengths = prepared.views["seq2seq"].lengths
    for row, k in enumerate(prepared.split["test"]):
        mine = answers[answers["recording"] == prepared.ids[k]]
        assert mine["t"].tolist() == list(range(int(lengths[k])))
        assert np.allclose(mine["prediction"], expected[row, : lengths[k], 0], rtol=1e-4, atol=1e-3)
