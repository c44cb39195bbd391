"""Helpers of the Ray backend's end-to-end tests (``test_ray_backend.py``, ``test_ray_cluster.py``).

A subprocess that starts Ray gets :func:`private_ray_env`: a marker (:data:`MARK`) that every Ray
process it starts inherits, so :func:`ray_processes` finds exactly those (never the Ray runtimes
of anything else on the machine), and a Ray temp folder of its own, so that nothing another Ray
left in ``/tmp/ray`` (a ``ray_current_cluster`` address file) reaches it and nothing it leaves
reaches others.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Run

from automl_rnn import api
from automl_rnn.search.ledger import Ledger
from automl_rnn.search.records import StudySnapshot, TrialRecord, TrialStatus
from automl_rnn.tracking.store import local_tracking_uri
from tests.contract.test_tracking_mlflow import runs_of as runs_at

CLI = [sys.executable, "-m", "automl_rnn.cli"]
#: A tiny search on sine_mix through the CLI (the backend and budget are added per test).
CLI_TINY = ["--task", "sine_mix", "--space", "tiny", "--seed", "0", "--quiet", "--json"]
FINISHED = (TrialStatus.COMPLETE, TrialStatus.PRUNED)
PRUNED_AT = re.compile(r"pruned at epoch (\d+)")
#: Environment variable that marks the Ray processes a subprocess of these tests starts.
MARK = "AUTOML_RNN_TEST_RAY_MARK"


def ledger(workspace: Path, study: str = "sine_mix") -> StudySnapshot:
    return Ledger.open(workspace, study).snapshot()


def search(workspace: Path, **overrides: Any) -> dict[str, Any]:
    """A quiet in-process search on sine_mix with the Ray backend (on the session's Ray)."""
    given = {"task": "sine_mix", "space": "tiny", "seed": 0, "workspace": str(workspace)}
    return api.search({**given, "backend": "ray", **overrides}, progress=False)


@contextlib.contextmanager
def private_ray_env() -> Iterator[dict[str, str]]:
    """The environment of a subprocess that starts Ray (see the module docstring). The temp
    folder is short (Ray's socket paths must stay under 108 bytes) and removed afterwards."""
    folder = tempfile.mkdtemp(prefix="rt-", dir="/tmp")
    try:
        yield {**os.environ, MARK: uuid.uuid4().hex, "RAY_TMPDIR": folder}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ray_processes(env: Mapping[str, str]) -> set[int]:
    """Ray's processes (GCS, raylets, ``ray::`` workers and agents, Ray's Python helpers) that a
    command run with ``env`` (a :func:`private_ray_env`) started, and their children: those
    whose environment holds its mark, or with a file open in its Ray temp folder (Ray's agents
    write their titles over their environment; their logs stay open in the folder)."""
    listing = subprocess.run(
        ["ps", "-eo", "pid=,comm=,args="], capture_output=True, text=True, check=True
    ).stdout
    needle, folder = f"{MARK}={env[MARK]}".encode(), env["RAY_TMPDIR"] + "/"
    found = set()
    for line in listing.splitlines():
        fields = line.split(None, 2)
        if len(fields) < 2:
            continue
        pid, comm, args = int(fields[0]), fields[1], fields[2] if len(fields) == 3 else ""
        if comm in ("raylet", "gcs_server") or args.startswith("ray::") or "/ray/" in args:
            with contextlib.suppress(OSError):  # ended meanwhile, or not ours to read
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if needle in environ or any(p.startswith(folder) for p in open_files(pid)):
                    found.add(pid)
    return found


def open_files(pid: int) -> Iterator[str]:
    """The paths a process has open (its files, sockets and pipes as the kernel names them)."""
    folder = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(folder):
        with contextlib.suppress(OSError):
            yield os.readlink(folder / fd)


def wait_gone(env: Mapping[str, str], seconds: float) -> set[int]:
    """The Ray processes of ``env`` (see :func:`ray_processes`) still alive after up to
    ``seconds``."""
    deadline = time.monotonic() + seconds
    left = ray_processes(env)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = ray_processes(env)
    return left


def described(pids: Iterable[int]) -> list[str]:
    """``pid command line`` of each process still alive (for an assertion message)."""
    lines = []
    for pid in pids:
        with contextlib.suppress(OSError):
            lines.append(f"{pid} {Path(f'/proc/{pid}/cmdline').read_bytes()[:120]!r}")
    return lines


def runs_of(workspace: Path, study: str = "sine_mix") -> tuple[Run, list[Run]]:
    """(the search's one parent run, its trials' child runs) in the workspace's MLflow store."""
    return runs_at(local_tracking_uri(workspace), study)


def epoch_steps(workspace: Path, run_id: str, metric: str = "val_loss") -> list[int]:
    """The steps of a run's per-epoch metric, sorted (a step twice: logged twice)."""
    client = MlflowClient(local_tracking_uri(workspace))
    return sorted(m.step for m in client.get_metric_history(run_id, metric))


def epochs_trained(trial: TrialRecord) -> int:
    """Epochs a finished trial trained: all of them when complete, up to its pruning epoch."""
    if trial.status is TrialStatus.PRUNED:
        found = PRUNED_AT.fullmatch(trial.reason or "")
        assert found, trial.reason
        return int(found.group(1)) + 1
    return int(trial.metrics["epochs"])


def most_at_once(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one moment (one ending as another starts does not overlap)."""
    events = sorted(e for start, end in intervals for e in ((start, 1), (end, -1)))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most
