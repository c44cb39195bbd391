"""A workspace that cannot take more writes (issue 17 §3): one line, nothing corrupted, and the
same command finishes the search once space is back.

The full disk is simulated without privileges: the search runs under a file-size limit
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored), so the first write past it fails with ``EFBIG``
exactly where a full disk's ``ENOSPC`` would.
"""

from __future__ import annotations

import json
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


def run(*args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=None if limit is None else file_size_limit(limit),
    )


def assert_one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and "run the same command again" in line, line
    return line


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
