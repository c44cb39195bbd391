"""A workspace that cannot take more writes (issue 17 §3): one line, nothing corrupted, and the
same command finishes the search once space is back.

The full disk is simulated without privileges: the search runs under a file-size limit
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored), so the first write past it fails with ``EFBIG``
exactly where a full disk's ``ENOSPC`` would.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from automl_rnn.search.ledger import Ledger
from automl_rnn.search.records import TrialStatus

CLI = [sys.executable, "-m", "automl_rnn.cli"]
SEARCH = ["search", "--task", "sine_mix", "--space", "tiny", "--trials", "3", "--max-epochs", "1"]
SEARCH += ["--quiet", "--json"]


def file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run(
    *args: str, limit: int | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=None if limit is None else file_size_limit(limit),
        env=None if env is None else {**os.environ, **env},
    )


def assert_one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and "run the same command again" in line, line
    return line


READ_ONLY = Path(__file__).parents[1] / "fixtures" / "read_only"


@pytest.mark.slow
def test_a_full_disk_mid_search_is_one_line_and_the_same_command_finishes(tmp_path: Path) -> None:
    """The disk fills while trials run (an 8 kB file limit: a checkpoint or the journal hits
    it): exit 2, one line, the study still reads, and the same command, with space back, ends
    with exactly --trials complete trials and none running."""
    workspace = ["--workspace", str(tmp_path), "--no-tracking"]
    assert_one_line(run(*SEARCH, *workspace, limit=8000))
    found = Ledger.find(tmp_path, "sine_mix")
    assert found is not None  # the journal is readable: nothing half-written in it
    assert found.snapshot().counts()["complete"] < 3

    done = run(*SEARCH, *workspace)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["counts"]["complete"] == 3
    study = Ledger.find(tmp_path, "sine_mix")
    assert study is not None
    assert not study.snapshot().by_status(TrialStatus.RUNNING, TrialStatus.WAITING)


def test_a_full_disk_before_the_first_trial_leaves_no_partial_file(tmp_path: Path) -> None:
    """The workspace's MLflow store cannot be created (a 20 kB file limit): exit 2, one line
    naming the folder, and no half-copied database left in it."""
    line = assert_one_line(run(*SEARCH, "--workspace", str(tmp_path), limit=20_000))
    assert str(tmp_path / "mlflow") in line
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".partial")]


@pytest.mark.slow
def test_a_workspace_turned_read_only_mid_search_is_one_line_and_the_same_command_finishes(
    tmp_path: Path,
) -> None:
    """The workspace's file system turns read-only after 50 writes (a 3-trial search makes about
    100; ``tests/fixtures/read_only``): exit 2, one line naming the file and the cause, the study
    still reads, and the same command, writable again, ends with exactly --trials complete
    trials and none running."""
    workspace = ["--workspace", str(tmp_path), "--no-tracking"]
    fault = {"PYTHONPATH": str(READ_ONLY), "AUTOML_RNN_TEST_READ_ONLY": str(tmp_path),
             "AUTOML_RNN_TEST_READ_ONLY_AFTER": "50"}  # fmt: skip
    line = assert_one_line(run(*SEARCH, *workspace, env=fault))
    assert "Read-only file system" in line and str(tmp_path) in line
    found = Ledger.find(tmp_path, "sine_mix")
    assert found is not None
    assert found.snapshot().counts()["complete"] < 3
    # the case this test is for: cut between creating a trial and writing its owner
    assert found.snapshot().starting(), "the fault no longer cuts a trial before its owner"

    done = run(*SEARCH, *workspace)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["counts"]["complete"] == 3
    study = Ledger.find(tmp_path, "sine_mix")
    assert study is not None
    assert not study.snapshot().by_status(TrialStatus.RUNNING, TrialStatus.WAITING)
