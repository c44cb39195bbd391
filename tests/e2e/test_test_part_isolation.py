"""The search never reads the test part: poisoning the test window changes no trial's parameters,
validation curve or objective, only the test metrics (and the data's fingerprint)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna

from automl_rnn.search.storage import open_storage

AIR = Path(__file__).parents[2] / "tasks" / "data" / "air_passengers.csv"
HORIZON = 12


def _search(csv_path: Path, workspace: Path) -> list[dict[str, Any]]:
    cmd = [sys.executable, "-m", "automl_rnn.cli", "search", "--data", str(csv_path),
           "--time-col", "month", "--target", "passengers", "--horizon", str(HORIZON),
           "--space", "tiny", "--trials", "3", "--max-epochs", "2", "--seed", "3",
           "--workspace", str(workspace), "--no-tracking", "--no-classical-baselines",
           "--quiet", "--json"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=580)
    assert done.returncode == 0, done.stderr[-3000:]
    name = json.loads(done.stdout)["study"]
    study = optuna.load_study(study_name=name, storage=open_storage(workspace))
    return [
        {
            "params": t.params,
            "value": t.value,
            "val_curve": t.user_attrs["curves"]["val_loss"],
            "metrics": t.user_attrs["metrics"],
        }
        for t in sorted(study.trials, key=lambda t: t.number)
    ]


def test_a_poisoned_test_window_changes_no_trials_validation_value(tmp_path: Path) -> None:
    rows = list(csv.reader(AIR.open()))
    header, body = rows[0], rows[1:]
    for row in body[-HORIZON:]:  # the test part: the last horizon months
        row[1] = str(float(row[1]) * 1000)
    poisoned = tmp_path / "poisoned.csv"
    with poisoned.open("w", newline="") as sink:
        csv.writer(sink).writerows([header, *body])
    clean = _search(AIR, tmp_path / "clean")
    dirty = _search(poisoned, tmp_path / "dirty")
    assert len(clean) == len(dirty) == 3
    for a, b in zip(clean, dirty, strict=True):
        assert a["params"] == b["params"]
        assert a["value"] == b["value"]
        assert a["val_curve"] == b["val_curve"]
        val = {k: v for k, v in a["metrics"].items() if k.startswith("val_")}
        assert val == {k: v for k, v in b["metrics"].items() if k.startswith("val_")}
        assert a["metrics"]["test_mae"] != b["metrics"]["test_mae"]  # the poison is in the test
