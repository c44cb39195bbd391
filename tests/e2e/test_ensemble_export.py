"""``export --ensemble K`` end to end: a real search whose trials differ in topology, input window
and scaling, its K best trials exported as one graph, served by ``predict``'s runtime.

The exported graph must forecast the mean of what its members forecast when each is exported
alone (``--trial N``), on every engine, within 1e-5 of the series' scale; its members must be the
study's K best trials on validation; and what cannot be ensembled is refused before any work.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl_rnn import api
from automl_rnn.data import prepare
from automl_rnn.data.forecast import ForecastData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import UserError
from automl_rnn.export import codec, runtime
from automl_rnn.export.assembly import check_supported
from automl_rnn.search.ledger import Ledger

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "automl_rnn.cli"]
SIZE = 5  # of 6 trials: the members include both scalings (asserted)
#: Members that differ in what the ensemble graph must reconcile.
SPACE = """\
description: members of different windows, scalings and topologies
params:
  topology: {choices: [seq2vec, encoder_decoder, seq2seq]}
  seq_len: {choices: [12, 24, 36]}
  scaling: {choices: [window, global]}
  cell: {choices: [gru, lstm]}
  num_layers: 1
  hidden_size: {low: 8, high: 16}
  lr: {low: 5.0e-3, high: 3.0e-2, log: true}
  batch_size: 32
  tbptt_steps: null
"""


@dataclass
class Searched:
    workspace: Path
    study: str
    root: Path
    summary: dict[str, Any]

    def export(self, name: str, **options: object) -> Path:
        summary = api.export(
            self.study,
            str(self.root / name),
            workspace=str(self.workspace),
            formats="onnx,torchscript",
            **options,  # type: ignore[arg-type]
        )
        return Path(summary["out"])


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Searched:
    root = tmp_path_factory.mktemp("ensemble")
    space = root / "space.yaml"
    space.write_text(SPACE)
    workspace = root / "workspace"
    overrides = {"task": "air_passengers", "space": str(space), "trials": 6, "max_epochs": 3,
                 "workspace": str(workspace), "seed": 0, "tracking": False, "pruner": "none",
                 "sampler": "random"}  # fmt: skip
    summary = api.search(overrides, progress=False)
    return Searched(workspace, str(summary["study"]), root, summary)


def ranked_trials(s: Searched) -> list[int]:
    snapshot = Ledger.open(s.workspace, s.study, None).snapshot()
    return [t.number for t in snapshot.ranked()]


def histories(prepared: ForecastData, pre: dict[str, Any]) -> list[pd.DataFrame]:
    """History tables ending at every validation and test window's first target."""
    ends = [int(e) for split in ("val", "test") for e in prepared.starts(split, 1)]
    return [codec.history_frame(pre["input"], prepared, end) for end in ends]


def test_the_graph_forecasts_the_mean_of_its_members_exported_alone(searched: Searched) -> None:
    folder = searched.export("ensemble", ensemble=SIZE)
    manifest = json.loads((folder / runtime.MANIFEST).read_text())
    members = manifest["ensemble"]["trials"]
    assert members == ranked_trials(searched)[:SIZE]  # the best on validation, best first
    pre = json.loads((folder / runtime.PREPROCESS).read_text())
    specs = pre["network"]["ensemble"]
    assert {m["scaling"] for m in specs} == {"window", "global"}
    assert len({m["window"] for m in specs}) > 1 and len({m["arch"]["topology"] for m in specs}) > 1
    prepared = prepare(DataSource.from_args({"task": "air_passengers"}))
    assert isinstance(prepared, ForecastData)
    frames = histories(prepared, pre)
    alone = [runtime.load_bundle(searched.export(f"trial-{n}", trial=n)) for n in members]
    expected = np.mean(
        [[b.predict(f)["passengers"].to_numpy() for f in frames] for b in alone], axis=0
    )
    bound = 1e-5 * prepared.sd[0]
    for engine in ("onnx", "torchscript", "eager"):
        bundle = runtime.load_bundle(folder, engine=engine)
        got = np.array([bundle.predict(f)["passengers"].to_numpy() for f in frames])
        assert np.abs(got - expected).max() <= bound, engine


def test_the_manifest_scores_each_member_as_its_trial_scored_itself(searched: Searched) -> None:
    folder = searched.export("scored", ensemble=SIZE)
    manifest = json.loads((folder / runtime.MANIFEST).read_text())
    assert manifest["format_version"] == runtime.ENSEMBLE_FORMAT_VERSION
    snapshot = Ledger.open(searched.workspace, searched.study, None).snapshot()
    recorded = {t.number: t.metrics for t in snapshot.trials}
    for member in manifest["ensemble"]["members"]:
        trial = recorded[member["trial"]]
        assert member["val_mae"] == pytest.approx(trial["val_mae"], rel=1e-4)
        assert member["test_mae"] == pytest.approx(trial["test_mae"], rel=1e-4)
    scores = manifest["ensemble"]["metrics"]
    assert set(scores) >= {"val_mae", "test_mae", "test_rel_mae", "test_mase"}
    assert scores["test_mae"] > 0


def test_export_without_flags_makes_the_three_best_trials_the_search_summary_scored(
    searched: Searched,
) -> None:
    """The default export is the mean of the 3 best trials, and the search's summary reported
    exactly that model's scores (one computation, two readers)."""
    folder = searched.export("default")
    ensemble = json.loads((folder / runtime.MANIFEST).read_text())["ensemble"]
    assert ensemble["trials"] == ranked_trials(searched)[:3]
    reported = searched.summary["ensemble"]
    assert reported["size"] == 3 and reported["trials"] == ensemble["trials"]
    assert reported["metrics"] == ensemble["metrics"]
    assert reported["metrics"]["test_mae"] != searched.summary["best"]["metrics"]["test_mae"]


def test_ensemble_1_and_trial_export_one_trial(searched: Searched) -> None:
    best = ranked_trials(searched)[0]
    for name, options in (("one", {"ensemble": 1}), ("chosen", {"trial": best})):
        manifest = json.loads((searched.export(name, **options) / runtime.MANIFEST).read_text())
        assert manifest.get("ensemble") is None, name
        assert manifest["trial"] == best, name


def test_refusals_come_before_any_work(searched: Searched, tmp_path: Path) -> None:
    count = len(ranked_trials(searched))
    out = tmp_path / "never"
    for flags, words in (
        (["--ensemble", str(count + 1)], f"has {count} completed trial(s); use --ensemble {count}"),
        (["--ensemble", "2", "--trial", "0"], "drop --trial"),
        (["--ensemble", "0"], "--ensemble"),
    ):
        done = subprocess.run(
            [*CLI, "export", "--study", searched.study, "--workspace", str(searched.workspace),
             "--out", str(out), *flags], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, (flags, done.stderr)
        assert words in done.stderr, (flags, done.stderr)
        assert "Traceback" not in done.stderr
        assert not out.exists()


def test_only_one_series_forecasts_are_ensembled() -> None:
    with pytest.raises(UserError, match="a classification task; ensembles are built for"):
        check_supported(prepare(DataSource.from_args({"task": "digits"})), "digits-study")


def test_the_ensemble_is_one_mlflow_model_that_predicts_as_its_folder(
    searched: Searched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--ensemble K --format onnx,mlflow``: the mean graph logged as one pyfunc model (in a new
    export run: the search ran untracked), and ``predict`` on its ``models:/`` URI answers what
    the folder answers."""
    from automl_rnn.tracking.store import client, local_tracking_uri

    monkeypatch.chdir(tmp_path)
    summary = api.export(
        searched.study,
        str(searched.root / "logged"),
        workspace=str(searched.workspace),
        formats="onnx,mlflow",
        ensemble=2,
    )
    logged = summary["mlflow"]
    assert logged["new_run"] is True
    run = client(local_tracking_uri(searched.workspace)).get_run(logged["run_id"])
    assert run.data.tags["automl_rnn.exported_model"] == logged["model_uri"]
    history = tmp_path / "history.csv"
    tasks = Path(__file__).parents[2] / "tasks" / "data"
    pd.read_csv(tasks / "air_passengers.csv").head(132).to_csv(history, index=False)
    by_uri = api.predict(logged["model_uri"], str(history), workspace=str(searched.workspace))
    by_folder = api.predict(summary["out"], str(history))
    assert by_uri["csv"] == by_folder["csv"]
    assert len(pd.read_csv(io.StringIO(by_folder["csv"]))) == 12
