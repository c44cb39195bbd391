"""Vector → sequence from the user's own long table, end to end through the CLI: each id's static
features to a numeric curve or a class at every step; ``search``, ``export``, and ``predict`` in
a fresh process on a table of ids (one row each, or the long table itself), equal to the search's
own model on the test ids."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.e2e.test_export_predict import Exported, cli, in_memory, search_export_by_cli
from tests.unit.data.test_static_steps import curves

pytestmark = pytest.mark.slow

FLAGS = ["--id-col", "id", "--time-col", "t", "--static-features", "a,b", "--per-step"]
SOURCE = {"id_col": "id", "time_col": "t", "static_features": "a,b", "per_step": True}


def searched(root: Path, target: str) -> Exported:
    data = root / "curves.csv"
    frame = curves(ids=40)
    if target == "phase":  # a third of the ids end early: outputs of different lengths
        frame = frame[~((frame["id"].str[1:].astype(int) % 3 == 0) & (frame["t"] >= 9))]
    frame.to_csv(data, index=False)
    return search_export_by_cli(
        root, data, [*FLAGS, "--target", target], {**SOURCE, "target": target}
    )


@pytest.fixture(scope="module")
def curve(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return searched(tmp_path_factory.mktemp("static-curve"), "y")


@pytest.fixture(scope="module")
def phases(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    return searched(tmp_path_factory.mktemp("static-phases"), "phase")


def predicted(exported: Exported, tmp_path: Path, one_row_per_id: bool) -> pd.DataFrame:
    prepared, _ = in_memory(exported)
    test_ids = [prepared.ids[k] for k in prepared.split["test"]]
    table = pd.read_csv(exported.source["data"]).drop(columns=["y", "phase"])
    new = table[table["id"].isin(test_ids)]
    if one_row_per_id:
        new = new.drop_duplicates("id").drop(columns="t")
    new.to_csv(tmp_path / "new.csv", index=False)
    done = cli("predict", "--model", str(exported.folder), "--data", str(tmp_path / "new.csv"))
    assert done.returncode == 0, done.stderr
    return pd.read_csv(io.StringIO(done.stdout))


@pytest.mark.parametrize("one_row_per_id", [True, False], ids=["ids", "long-table"])
def test_a_curve_per_id_as_the_search_model_gives_it(
    curve: Exported, tmp_path: Path, one_row_per_id: bool
) -> None:
    prepared, expected = in_memory(curve)  # [test ids, 12, 1] in the target's units
    got = predicted(curve, tmp_path, one_row_per_id)
    assert list(got.columns) == ["id", "step", "prediction"]
    for row, k in enumerate(prepared.split["test"]):
        mine = got[got["id"] == prepared.ids[k]]
        assert mine["step"].tolist() == list(range(1, 13))
        assert np.allclose(mine["prediction"], expected[row, :, 0], rtol=1e-4, atol=1e-4)


def test_a_class_per_step_ending_where_the_model_ends_it(phases: Exported, tmp_path: Path) -> None:
    prepared, expected = in_memory(phases)  # [test ids, L_max] class ids, 0 = the end
    got = predicted(phases, tmp_path, one_row_per_id=True)
    assert list(got.columns) == ["id", "step", "prediction", "probability"]
    for row, k in enumerate(prepared.split["test"]):
        ids = expected[row]
        end = int(np.argmax(ids == 0)) if (ids == 0).any() else len(ids)
        mine = got[got["id"] == prepared.ids[k]]
        assert mine["prediction"].tolist() == [prepared.vocab[i] for i in ids[:end]]
        assert mine["probability"].between(0, 1).all()
