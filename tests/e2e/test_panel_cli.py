"""Many series from the user's own long table, end to end through the CLI: ``inspect``,
``search``, ``best``, ``export``, and ``predict`` in a fresh process on each series' history
up to its test part: one row per series and future step, equal to the search's own model."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.generators import panel_table
from tests.e2e.test_export_predict import ROUND_TRIP, Exported, cli, in_memory, search_export_by_cli

pytestmark = pytest.mark.slow

FLAGS = ["--id-col", "series", "--time-col", "date", "--target", "sales"]
SOURCE = {"id_col": "series", "time_col": "date", "target": "sales"}


def table() -> pd.DataFrame:
    """Fourteen daily series of 60-110 days (different ends, scales 1-1000), rows shuffled."""
    frame = pd.DataFrame(panel_table(14, (60, 110), seed=5))
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    return frame.sample(frac=1.0, random_state=2)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("panel")
    data = root / "sales.csv"
    table().to_csv(data, index=False)
    flags = [*FLAGS, "--features", "price", "--static-features", "size", "--horizon", "7"]
    source = {**SOURCE, "features": "price", "static_features": "size", "horizon": 7}
    return search_export_by_cli(root, data, flags, source)


def test_inspect_describes_the_series(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    frame = table()
    frame.to_csv(data, index=False)
    done = cli("inspect", "--data", str(data), *FLAGS, "--json")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    lengths = frame.groupby("series").size()
    assert found["series"] == 14 and found["kind"] == "forecast"
    assert found["lengths"] == {
        "min": int(lengths.min()), "median": float(lengths.median()), "max": int(lengths.max())
    }  # fmt: skip
    assert found["season"] == 7 and found["horizon"] == 7  # daily steps: a weekly season
    assert found["topologies"] == ["seq2vec", "encoder_decoder", "seq2seq"]
    assert found["split_windows"]["val"] == 14 and found["split_windows"]["test"] == 14


def test_best_reports_the_series_spread_against_seasonal_naive(searched: Exported) -> None:
    metrics = searched.best["metrics"]
    assert metrics["test_series"] == 14
    assert 0.0 <= metrics["test_beats_snaive_share"] <= 1.0
    assert metrics["test_rel_mae_best"] <= metrics["test_rel_mae_median"]
    assert metrics["test_rel_mae_median"] <= metrics["test_rel_mae_worst"]
    done = cli("best", "--study", searched.study, "--workspace", str(searched.workspace), "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)["baseline"]
    assert "seasonal naive on average over 14 series, on " in verdict["verdict"]


def test_the_report_names_the_best_median_and_worst_series(
    searched: Exported, tmp_path: Path
) -> None:
    prepared, _ = in_memory(searched)
    metrics = searched.best["metrics"]
    names = [prepared.ids[int(metrics[f"test_rel_mae_{at}_series"])] for at in ("best", "median", "worst")]  # fmt: skip
    done = cli("report", "--study", searched.study, "--workspace", str(searched.workspace),
               "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    best, median, worst = (f"(&#x27;{name}&#x27;)" for name in names)
    assert f"at best {best}, " in page and f"on the median series {median} and " in page
    assert f"at worst {worst}." in page


def test_predict_forecasts_every_series_as_the_search_model_does(
    searched: Exported, tmp_path: Path
) -> None:
    """Each series' rows before its test part, shuffled, in a fresh process per engine: one row
    per (series, step) with the next dates, the in-memory model's test forecast, and the test
    MAE the search recorded."""
    prepared, expected = in_memory(searched)  # [series, 7, 1] in prepared.ids order
    frame = pd.read_csv(searched.source["data"]).sort_values(["series", "date"])
    history = frame[frame.groupby("series").cumcount(ascending=False) >= 7]
    history.sample(frac=1.0, random_state=4).to_csv(tmp_path / "history.csv", index=False)
    answers = []
    for engine in ("onnx", "torchscript"):
        done = cli("predict", "--model", str(searched.folder), "--data",
                   str(tmp_path / "history.csv"), "--engine", engine, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        answers.append(pd.read_csv(io.StringIO(done.stdout)))
    assert answers[0].equals(answers[1]) or np.allclose(
        answers[0]["sales"], answers[1]["sales"], rtol=1e-5
    )
    got = answers[0]
    assert list(got.columns) == ["series", "step", "date", "sales"]
    assert len(got) == 14 * 7
    truth = frame.groupby("series").tail(7)
    for i, name in enumerate(prepared.ids):
        mine = got[got["series"] == name]
        assert mine["step"].tolist() == list(range(1, 8))
        assert mine["date"].tolist() == truth[truth["series"] == name]["date"].tolist()
        assert np.allclose(mine["sales"], expected[i, :, 0], rtol=1e-4, atol=1e-3), name
    errors = [
        np.abs(got[got["series"] == n]["sales"].to_numpy()
               - truth[truth["series"] == n]["sales"].to_numpy()).mean()
        for n in prepared.ids
    ]  # fmt: skip
    assert float(np.mean(errors)) == pytest.approx(searched.best["metrics"]["test_mae"], rel=1e-3)


def test_a_series_shorter_than_the_window_is_refused_by_name(
    searched: Exported, tmp_path: Path
) -> None:
    frame = pd.read_csv(searched.source["data"])
    short = frame[frame["series"] == "s0003"].head(3)
    pd.concat([frame[frame["series"] != "s0003"], short]).to_csv(tmp_path / "h.csv", index=False)
    done = cli("predict", "--model", str(searched.folder), "--data", str(tmp_path / "h.csv"))
    assert done.returncode == 2
    assert "(id 's0003'): history has 3 rows, shorter than the model's input window" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_built_in_panel_searches_and_reports_per_series(tmp_path: Path) -> None:
    # the per-series AutoETS / AutoARIMA fits are unit-tested (test_classical_baselines.py)
    done = cli("search", "--task", "us_employment", *ROUND_TRIP, "--workspace", str(tmp_path),
               "--no-tracking", "--no-classical-baselines", "--quiet", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    verdict = summary["baseline"]
    assert "on average over 21 series" in verdict["verdict"]
