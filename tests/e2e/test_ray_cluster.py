"""What only the Ray backend does: ASHA early stopping, trials placed by their CPU / GPU
resources, and a multi-node cluster (its storage-path rule, a node lost mid-trial).

In-process searches run on the session's Ray (``ray_runtime`` in ``tests/conftest.py``: 2 CPUs
and one logical GPU); the cluster runs in a subprocess (``ray_cluster_scenario.py``), since one
process holds one Ray. Results are read through the ledger and MLflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from automl_rnn.search.records import TrialStatus
from tests.e2e.ray_support import (
    PRUNED_AT,
    described,
    epoch_steps,
    ledger,
    most_at_once,
    private_ray_env,
    runs_of,
    search,
    wait_gone,
)

pytestmark = pytest.mark.ray
pytest.importorskip("ray", reason="the Ray backend's tests need the ray extra")

SPACES = Path(__file__).parents[1] / "fixtures" / "spaces"


# ---- ASHA, and trials placed by the GPU they ask for -------------------------------------------


def asked_intervals(workspace: Path) -> list[tuple[float, float]]:
    """Each trial's (asked, told) times in seconds, from the ledger."""
    study = ledger(workspace)
    assert study.counts()["complete"] + study.counts()["pruned"] == len(study.trials)
    told = [(t.started, t.completed) for t in study.trials]
    return [(a.timestamp(), b.timestamp()) for a, b in told if a is not None and b is not None]


@contextlib.contextmanager
def most_held() -> Iterator[dict[str, float]]:
    """The most CPUs and GPUs the Ray's trials held at once while the block ran (sampled)."""
    import ray

    total, held, stop = ray.cluster_resources(), {"CPU": 0.0, "GPU": 0.0}, threading.Event()

    def sample() -> None:
        while not stop.is_set():
            free = ray.available_resources()
            for name in held:
                held[name] = max(held[name], round(total[name] - free.get(name, 0.0), 3))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield held
    finally:
        stop.set()
        sampler.join()


@pytest.mark.parametrize("max_epochs", [2, 3, 6, 18])
def test_asha_never_stops_a_trial_at_its_last_epoch(max_epochs: int) -> None:
    """As under the Optuna backend, the last epoch is never pruned: a trial that trained every
    epoch has its model. Fed adversarially (worse trials report first, so all pass the early
    rungs; the best reports first at the last epoch), ASHA stops nothing at that epoch."""
    from types import SimpleNamespace

    from ray.tune.schedulers import TrialScheduler

    from automl_rnn.backends.ray_backend import make_scheduler
    from automl_rnn.backends.ray_trainable import epoch_result
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.search.objectives import resolve_objectives

    spec = ExperimentSpec(task="sine_mix", backend="ray", scheduler="asha", max_epochs=max_epochs)
    job = SimpleNamespace(
        plan=SimpleNamespace(objectives=resolve_objectives(["val_loss"], "forecast"))
    )
    scheduler = make_scheduler(spec, job)  # type: ignore[arg-type]
    assert scheduler is not None
    scheduler.set_search_properties("val_loss", "min")
    trials = [SimpleNamespace(trial_id=str(loss)) for loss in range(3)]  # loss 0: the best
    for trial in trials:
        scheduler.on_trial_add(None, trial)  # type: ignore[arg-type]
    stopped = []
    for epoch in range(1, max_epochs + 1):
        order = trials if epoch == max_epochs else trials[::-1]
        for trial in order:
            result = epoch_result(epoch, max_epochs, {"val_loss": float(trial.trial_id)})
            if scheduler.on_trial_result(None, trial, result) == TrialScheduler.STOP:  # type: ignore[arg-type]
                stopped.append((trial.trial_id, epoch))
                trials.remove(trial)
    assert all(epoch < max_epochs for _, epoch in stopped), stopped


@pytest.fixture(scope="module")
def gpu_ray(ray_runtime: None) -> None:
    """The session's Ray, which declares one GPU (and 2 CPUs)."""
    import ray

    resources = ray.cluster_resources()
    if resources.get("GPU", 0) != 1 or resources.get("CPU", 0) < 2:
        pytest.skip(f"needs the session's Ray with one GPU and 2 CPUs, not {resources}")


@pytest.fixture(scope="module")
def asha_search(
    gpu_ray: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, float]]:
    """4 trials on a space whose learning rates span five decades (most trials poor), 3 epochs
    (ASHA's one rung at epoch 2), each asking for the whole GPU and half a CPU."""
    workspace = tmp_path_factory.mktemp("ray-asha")
    space = str(SPACES / "wide_lr.yaml")
    options = {"max_epochs": 3, "scheduler": "asha", "cpus_per_trial": 0.5, "gpus_per_trial": 1}
    with most_held() as held:
        summary = search(workspace, space=space, trials=4, **options)
    assert summary["counts"] == ledger(workspace).counts()
    return workspace, held


@pytest.mark.slow
def test_asha_stops_poor_trials_early_and_records_them_pruned(
    asha_search: tuple[Path, dict[str, float]],
) -> None:
    """ASHA stops some trials before their last epoch; the ledger records them PRUNED with the
    epoch, their MLflow runs say pruned and hold only the epochs trained. Pruned and complete
    trials both count towards ``trials``."""
    workspace, _ = asha_search
    study = ledger(workspace)
    counts = study.counts()
    assert counts["complete"] + counts["pruned"] == 4 and counts["failed"] == 0, counts
    assert counts["pruned"] >= 1 and counts["complete"] >= 1, counts
    _, children = runs_of(workspace)
    by_number = {int(r.data.tags["trial"]): r for r in children}
    for trial in study.by_status(TrialStatus.PRUNED):
        assert 1e-6 <= float(str(trial.sampled["lr"])) <= 1e-1
        found = PRUNED_AT.fullmatch(trial.reason or "")
        assert found and int(found.group(1)) < 3 - 1, trial.reason  # stopped early
        assert trial.values is None and trial.checkpoint is None
        run = by_number[trial.number]
        assert (run.info.status, run.data.tags["state"]) == ("FINISHED", "pruned")
        assert run.data.tags["reason"] == trial.reason
        assert epoch_steps(workspace, run.info.run_id) == list(range(int(found.group(1)) + 1))
    for trial in study.by_status(TrialStatus.COMPLETE):
        assert trial.metrics["epochs"] == 3
        assert by_number[trial.number].data.tags["state"] == "complete"


@pytest.mark.slow
def test_a_whole_gpu_per_trial_runs_one_trial_at_a_time(
    asha_search: tuple[Path, dict[str, float]],
) -> None:
    """``gpus_per_trial=1`` on a one-GPU Ray: one trial at a time, though the CPUs (0.5 per
    trial) would hold four: one asked at a time, one trial's resources held at a time."""
    workspace, held = asha_search
    assert most_at_once(asked_intervals(workspace)) == 1
    assert held == {"CPU": 0.5, "GPU": 1.0}


@pytest.mark.slow
def test_a_quarter_gpu_per_trial_runs_four_trials_at_once(gpu_ray: None, tmp_path: Path) -> None:
    """``gpus_per_trial=0.25`` on a one-GPU Ray: four trials at once, sharing it: four asked at
    once, four trials' resources held at once."""
    options = {"max_epochs": 2, "scheduler": "none", "cpus_per_trial": 0.5, "gpus_per_trial": 0.25}
    with most_held() as held:
        search(tmp_path, trials=4, **options)
    assert most_at_once(asked_intervals(tmp_path)) == 4
    assert held == {"CPU": 2.0, "GPU": 1.0}


# ---- a multi-node cluster ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``ray_cluster_scenario.py`` run once: (its root folder, the JSON it printed)."""
    root = tmp_path_factory.mktemp("ray-cluster")
    script = Path(__file__).with_name("ray_cluster_scenario.py")
    with private_ray_env() as env:
        done = subprocess.run(
            [sys.executable, str(script), str(root)],
            capture_output=True,
            text=True,
            timeout=480,
            env=env,
        )
        left = wait_gone(env, 15)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not left, described(left)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-3000:]
    return root, json.loads(lines[-1])


@pytest.mark.slow
def test_a_multi_node_cluster_needs_a_storage_path(
    cluster_run: tuple[Path, dict[str, Any]],
) -> None:
    """Ray's experiment state under the workspace is invisible to the other nodes: the search
    is refused in one line naming --storage-path."""
    _, out = cluster_run
    assert out["nodes"] == 3
    refusal = out["refusal"]
    assert refusal is not None, "a 3-node cluster was searched without --storage-path"
    assert "--storage-path" in refusal and "\n" not in refusal, refusal


@pytest.mark.slow
def test_a_trial_whose_node_is_lost_is_run_again_and_logged_once(
    cluster_run: tuple[Path, dict[str, Any]],
) -> None:
    """The node of a running trial (an epoch logged already) is removed and a fresh node added:
    Ray runs the trial again from its last epoch's checkpoint (not from epoch 0), the search
    finishes every trial and leaves none RUNNING, and the trial's one MLflow run holds each
    epoch once."""
    root, out = cluster_run
    assert "error" not in out and not out["alive_after"], out
    assert "moved" in out, f"no running trial was found on a worker node: {out}"
    assert out["epochs_before_move"] >= 1
    workspace = root / "moved"
    study = ledger(workspace)
    counts = study.counts()
    assert out["summary"]["counts"] == counts
    assert counts["complete"] + counts["pruned"] == 2 and counts["failed"] == 0, counts
    assert counts["running"] == counts["waiting"] == 0
    moved = study.trials[int(out["moved"])]
    assert moved.status is TrialStatus.COMPLETE and moved.metrics["epochs"] == 3
    assert moved.metrics["resumed_from_epoch"] >= out["epochs_before_move"] >= 1
    _, children = runs_of(workspace)
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    assert moved.mlflow_run_id is not None
    assert epoch_steps(workspace, moved.mlflow_run_id) == [0, 1, 2]
    # Its run names both nodes it ran on (one machine: the same IP, two node ids), in order.
    run = {r.info.run_id: r for r in children}[moved.mlflow_run_id]
    assert len(run.data.tags["nodes"].split(",")) == 2, run.data.tags


# ---- a trial whose worker keeps dying ----------------------------------------------------------


def trial_workers(number: int) -> list[int]:
    """Ray worker processes running trial ``number`` (Tune runs each trial in a folder named
    after its config)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if args.startswith("ray::") and re.search(rf"automl_trial={number}(?!\d)", cwd):
            found.append(int(proc.name))
    return found


@contextlib.contextmanager
def killing_workers_of(number: int) -> Iterator[list[int]]:
    """SIGKILL every Ray worker that runs trial ``number`` while the block runs (the pids
    killed are listed)."""
    killed: list[int] = []
    stop = threading.Event()

    def kill() -> None:
        while not stop.is_set():
            for pid in trial_workers(number):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill, daemon=True)
    killer.start()
    try:
        yield killed
    finally:
        stop.set()
        killer.join()


@pytest.mark.slow
def test_a_trial_lost_after_rays_retries_is_failed_and_the_exit_status_says_so(
    gpu_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Trial 0's worker is killed each time Ray starts it: after Ray's retries it is FAILED
    with ``node lost after retries`` (in the ledger, the summary and its MLflow run), the search
    runs another trial in its place, and the command exits with status 3 and one line saying
    which trial was lost."""
    from automl_rnn.backends import ray_backend
    from automl_rnn.cli import main
    from automl_rnn.cli.search import LOST_TRIALS_EXIT
    from automl_rnn.search.ledger import NODE_LOST

    # one retry instead of the product's two: the same path, a worker start (seconds) less
    monkeypatch.setattr(ray_backend, "MAX_FAILURES", 1)

    argv = ["automl-rnn", "search", "--task", "sine_mix", "--space", "tiny", "--seed", "0"]
    argv += ["--backend", "ray", "--trials", "1", "--max-epochs", "2", "--scheduler", "none"]
    argv += ["--max-concurrent", "1", "--workspace", str(tmp_path), "--quiet", "--json"]
    monkeypatch.setattr(sys, "argv", argv)
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        with killing_workers_of(0) as killed, pytest.raises(SystemExit) as ended:
            main()
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    assert ended.value.code == LOST_TRIALS_EXIT
    assert len(killed) >= ray_backend.MAX_FAILURES + 1  # the first run and every retry
    out, err = capsys.readouterr()
    # The session's Ray outlives the command: its late notes on the killed workers may follow.
    summary, _ = json.JSONDecoder().raw_decode(out)
    assert summary["lost_trials"] == [0]
    assert summary["failure_reasons"] == {NODE_LOST: 1}
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: 1 trial(s) lost") and "#0" in line, err
    study = ledger(tmp_path)
    lost = study.trials[0]
    assert (lost.status, lost.reason) == (TrialStatus.FAILED, NODE_LOST)
    assert study.counts()["complete"] == 1  # the trial run in its place
    _, children = runs_of(tmp_path)
    run = {int(r.data.tags["trial"]): r for r in children}[0]
    assert (run.info.status, run.data.tags["reason"]) == ("FAILED", NODE_LOST)
