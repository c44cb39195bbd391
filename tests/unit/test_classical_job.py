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


_MIDDLE = """
import json, os, subprocess, sys
child = subprocess.Popen([sys.executable, "-m", "automl_rnn.data.classical",
                          json.dumps({"task": "sine_mix"}), sys.argv[1], str(os.getpid())])
print(child.pid, flush=True)
child.wait()
"""


def test_the_scoring_process_dies_with_the_search_killed_outright(tmp_path: Path) -> None:
    """The search process SIGKILLed while its baselines fit: the fitting process gets SIGTERM
    from the kernel (PR_SET_PDEATHSIG, asked by the child itself) and is gone within seconds."""
    import os
    import signal
    import time

    env = {**os.environ, "AUTOML_RNN_CACHE": str(tmp_path / "cache")}  # nothing cached: it fits
    middle = subprocess.Popen(
        [sys.executable, "-c", _MIDDLE, str(tmp_path / "out.json")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert middle.stdout is not None
    child = int(middle.stdout.readline())
    time.sleep(1.0)
    middle.send_signal(signal.SIGKILL)
    middle.wait()
    deadline = time.time() + 20
    while time.time() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child)
    assert not (tmp_path / "out.json").exists()


def test_a_scoring_process_whose_search_is_already_gone_exits_at_once(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    done = subprocess.run(
        [sys.executable, "-m", "automl_rnn.data.classical", json.dumps({"task": "sine_mix"}),
         str(tmp_path / "out.json"), str(gone.pid)],
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 143
    assert not (tmp_path / "out.json").exists()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
