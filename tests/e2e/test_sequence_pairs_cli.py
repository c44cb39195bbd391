"""Numeric pairs from the user's own long table, end to end through the CLI: each id's input
steps to its marked output steps (encoder-decoder; ids answer 2 to 6 steps); ``search``,
``export`` (ONNX, TorchScript), and ``predict`` in a fresh process on the test ids, with or
without their output rows, equal to the search's own model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.e2e.test_export_predict import Exported, cli, in_memory, search_export_by_cli
from tests.unit.data.test_sequence_pairs import FLAGS, OUTPUTS, pairs

pytestmark = pytest.mark.slow

ARGS = [
    "--id-col", "id", "--time-col", "t", "--features", "load,temp", "--target", "load",
    "--output-steps-col", "is_output",
]  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("pairs")
    data = root / "pairs.csv"
    table = pairs(ids=40, vary=True)
    assert table[table["is_output"] == 1].groupby("id").size().agg(["min", "max"]).tolist() == [
        2,
        OUTPUTS,
    ]
    table.to_csv(data, index=False)
    return search_export_by_cli(root, data, ARGS, dict(FLAGS))


@pytest.mark.parametrize("with_outputs", [True, False], ids=["marked-outputs", "inputs-only"])
def test_predict_answers_each_ids_output_steps_as_the_search_model_does(
    exported: Exported, tmp_path: Path, with_outputs: bool
) -> None:
    prepared, expected = in_memory(exported)  # [test ids, OUTPUTS, 1] in the target's units
    answered = prepared.views["encoder_decoder"].out_lengths
    assert answered is not None
    assert exported.best["params"]["topology"] == "encoder_decoder"
    test_ids = [prepared.ids[k] for k in prepared.split["test"]]
    table = pd.read_csv(exported.source["data"])
    new = table[table["id"].isin(test_ids)]
    if with_outputs:  # the answers blanked: the rows only say which steps to answer
        new = new.assign(load=new["load"].where(new["is_output"] == 0))
    else:
        new = new[new["is_output"] == 0].drop(columns="is_output")
    new.to_csv(tmp_path / "new.csv", index=False)
    done = cli("predict", "--model", str(exported.folder), "--data", str(tmp_path / "new.csv"))
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(io.StringIO(done.stdout))
    # marked output rows give the answers their times and number (each id its own); without
    # them every id gets the most steps the model answers, numbered
    assert list(got.columns) == ["id", "step", *(["t"] if with_outputs else []), "prediction"]
    for row, k in enumerate(prepared.split["test"]):
        mine = got[got["id"] == prepared.ids[k]]
        steps = int(answered[k]) if with_outputs else OUTPUTS
        assert mine["step"].tolist() == list(range(1, steps + 1))
        if with_outputs:
            asked = new[(new["id"] == prepared.ids[k]) & (new["is_output"] == 1)]
            assert mine["t"].tolist() == sorted(asked["t"].tolist())
        assert np.allclose(mine["prediction"], expected[row, :steps, 0], rtol=1e-4, atol=1e-4)
    if with_outputs:
        assert len(set(answered[prepared.split["test"]].tolist())) > 1  # ids of several lengths


def test_a_bad_mark_in_the_new_table_is_one_line(exported: Exported, tmp_path: Path) -> None:
    table = pd.read_csv(exported.source["data"]).astype({"is_output": object})
    table.loc[table.index[3], "is_output"] = "later"
    table.to_csv(tmp_path / "bad.csv", index=False)
    done = cli("predict", "--model", str(exported.folder), "--data", str(tmp_path / "bad.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "column 'is_output' has 'later' at line 5" in done.stderr


def test_marking_more_output_steps_than_the_model_answers_is_one_line(
    exported: Exported, tmp_path: Path
) -> None:
    table = pd.read_csv(exported.source["data"])
    counts = table[table["is_output"] == 1].groupby("id").size()
    name = str(counts[counts == OUTPUTS].index[0])
    extra = {"id": name, "t": table[table["id"] == name]["t"].max() + 1, "is_output": 1}
    table = pd.concat([table, pd.DataFrame([extra])])  # one more output step than any id had
    table.to_csv(tmp_path / "long.csv", index=False)
    done = cli("predict", "--model", str(exported.folder), "--data", str(tmp_path / "long.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        f"id '{name}' marks {OUTPUTS + 1} output step(s) in 'is_output'; this model answers 1 to "
        f"{OUTPUTS}" in done.stderr
    )
