"""The background scoring of the classical baselines: its result lands in the study, its failure
only warns, and stopping it ends the process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from automl_rnn.orchestration.classical_job import ClassicalJob
from automl_rnn.search.ledger import Ledger


def _job(tmp_path: Path, script: str) -> tuple[ClassicalJob, Ledger]:
    ledger = Ledger.create(tmp_path / "ws", "s", ["minimize"], None)
    folder = tmp_path / "job"
    folder.mkdir()
    with (folder / "stderr.txt").open("wb") as errors:
        process = subprocess.Popen([sys.executable, "-c", script], stderr=errors, cwd=folder)
    return ClassicalJob(process, folder, ledger), ledger


def test_the_scores_written_by_the_process_are_kept_in_the_study(tmp_path: Path) -> None:
    payload = {
        "fingerprint": "f" * 64,
        "scores": {"auto_ets": {"model": "AutoETS", "test_mae": 1.5}},
    }
    job, ledger = _job(
        tmp_path, f"open('scores.json', 'w').write({json.dumps(json.dumps(payload))})"
    )
    job.finish()
    assert ledger.classical_fingerprint() == "f" * 64
    assert ledger.info().classical == {"auto_ets": {"model": "AutoETS", "test_mae": 1.5}}
    assert not (tmp_path / "job").exists()


def test_a_failed_scoring_warns_with_its_last_line_and_keeps_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job, ledger = _job(tmp_path, "import sys; sys.stderr.write('ValueError: boom\\n'); sys.exit(1)")
    with caplog.at_level(logging.WARNING, logger="automl_rnn"):
        job.finish()
    assert "not scored (exit 1: ValueError: boom)" in caplog.text
    assert ledger.classical_fingerprint() is None and ledger.info().classical == {}


def test_stopping_ends_a_running_scoring(tmp_path: Path) -> None:
    job, _ = _job(tmp_path, "import time; time.sleep(60)")
    job.stop()
    assert job.process.poll() is not None
    assert not (tmp_path / "job").exists()
