"""``automl-rnn report`` end to end: a real tiny search, then the real CLI in a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from automl_rnn import api
from automl_rnn.search.storage import open_storage

CLI = [sys.executable, "-m", "automl_rnn.cli"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-trial search of air_passengers in the tiny space (2 epochs, seed 0)."""
    folder = tmp_path_factory.mktemp("ws")
    summary = api.search(
        {
            "task": "air_passengers",
            "space": "tiny",
            "trials": 3,
            "max_epochs": 2,
            "workspace": str(folder),
            "seed": 0,
            "tracking": False,
        },
        progress=False,
    )
    assert summary["counts"]["complete"] >= 1, summary
    return folder


def test_report_command_writes_an_offline_page_and_plots(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = cli(
        "report", "--study", "air_passengers", "--out", str(out), "--workspace", str(workspace)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    page_path = out / "report.html"
    assert done.stdout.strip().splitlines()[-1] == str(page_path)
    pngs = sorted(out.glob("*.png"))
    names = {p.name for p in pngs}
    assert {"optimization_history.png", "convergence.png", "parallel_coordinates.png"} <= names
    assert "pareto_front.png" not in names  # one objective
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5_000, png.name
    page = page_path.read_text(encoding="utf-8")
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert len(re.findall(r'src="data:image/png;base64,', page)) == len(pngs)
    study = optuna.load_study(study_name="air_passengers", storage=open_storage(workspace))
    best = study.best_trial
    assert f"Best trial #{best.number}</strong>" in page
    rel = best.user_attrs["metrics"]["test_rel_mae"]
    assert f"test_rel_mae={rel:.4g}" in page  # the winner's test error against seasonal naive
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder left


def test_report_of_an_unknown_study_is_one_line_exit_2(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = cli("report", "--study", "nope", "--out", str(out), "--workspace", str(workspace))
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "'nope'" in lines[0] and "air_passengers" in lines[0], lines
    assert not out.exists()


def test_report_into_an_existing_file_is_one_line_exit_2(workspace: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken.html"
    taken.write_text("keep", encoding="utf-8")
    done = cli(
        "report", "--study", "air_passengers", "--out", str(taken), "--workspace", str(workspace)
    )
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "existing file" in lines[0], lines
    assert taken.read_text(encoding="utf-8") == "keep"
    assert [p.name for p in tmp_path.iterdir()] == ["taken.html"]
