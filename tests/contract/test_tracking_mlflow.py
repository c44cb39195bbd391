"""MLflow tracking against real stores: the embedded SQLite store and a real ``mlflow server``
over HTTP on 127.0.0.1 (started and stopped here). Layout, curves, states, run hygiene."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState as OptunaState

from automl_rnn import api
from automl_rnn.search.storage import journal_path, open_storage
from automl_rnn.tracking.store import local_tracking_uri
from automl_rnn.tracking.ui import stop_group

SPACES = Path(__file__).parents[1] / "fixtures" / "spaces"
CLI = [sys.executable, "-m", "automl_rnn.cli"]
RUN_STATUS = {
    OptunaState.COMPLETE: ("FINISHED", "complete"),
    OptunaState.PRUNED: ("FINISHED", "pruned"),
    OptunaState.FAIL: ("FAILED", "failed"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def runs_of(uri: str, study: str) -> tuple[Any, list[Any]]:
    """(parent run, child runs) of a study's experiment."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(study)
    assert experiment is not None, f"no experiment '{study}' at {uri}"
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("automl_rnn.role") == "search"]
    assert len(parents) == 1, [r.info.run_name for r in runs]
    children = [r for r in runs if r.data.tags.get("automl_rnn.role") == "trial"]
    return parents[0], children


def search(workspace: Path, **extra: Any) -> dict[str, Any]:
    args = {
        "task": "sine_mix",
        "space": "tiny",
        "trials": 4,
        "max_epochs": 3,
        "seed": 0,
        "workspace": str(workspace),
        **extra,
    }
    return api.search(args, progress=False)


def assert_layout(uri: str, workspace: Path, study: str, trials: int) -> None:
    """Parent with the search's inputs; exactly ``trials`` children under it, each with its curves
    and a state matching the Optuna trial."""
    client = MlflowClient(uri)
    parent, children = runs_of(uri, study)
    assert parent.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"experiment.yaml", "search_space.yaml", "versions.json", "reproduce.sh"} <= artifacts
    assert "report" in artifacts
    assert parent.data.tags["data_fingerprint"]
    assert parent.data.params["seed"] == "0"
    assert "automl-rnn search" in parent.data.tags["reproduce"]
    assert parent.data.metrics["trials_complete"] + parent.data.metrics["trials_pruned"] >= 1
    assert "Best: trial" in parent.data.tags["mlflow.note.content"]

    loaded = optuna.load_study(study_name=study, storage=open_storage(workspace))
    # One run per Optuna trial, none lost or duplicated; the workers claim trials under the
    # workspace's lock, so they run exactly --trials between them (plus one per failed trial).
    assert len(children) == len(loaded.trials)
    failed = sum(t.state == OptunaState.FAIL for t in loaded.trials)
    assert len(loaded.trials) == trials + failed
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    by_number = {int(r.data.tags["trial"]): r for r in children}
    assert sorted(by_number) == [t.number for t in loaded.trials]
    for trial in loaded.trials:
        run = by_number[trial.number]
        status, state = RUN_STATUS[trial.state]
        assert (run.info.status, run.data.tags["state"]) == (status, state), trial.number
        assert trial.user_attrs["mlflow_run_id"] == run.info.run_id
        assert run.data.tags["cell"] == trial.user_attrs["params"]["cell"]
        assert run.data.tags["seed"] == str(trial.user_attrs["seed"])
        if trial.state == OptunaState.FAIL:
            continue
        epochs = int(trial.user_attrs["metrics"]["epochs"])
        for name in ("train_loss", "val_loss", "val_metric", "grad_norm", "lr", "epoch_seconds"):
            steps = [m.step for m in client.get_metric_history(run.info.run_id, name)]
            assert sorted(steps) == list(range(epochs)), (trial.number, name, steps)
        for name in ("wall_seconds", "cpu_seconds", "peak_rss_mb", "params", "latency_ms"):
            assert run.data.metrics[name] > 0, name
        assert run.data.params["hidden_size"] == str(trial.user_attrs["params"]["hidden_size"])
    best = loaded.best_trial
    best_run = by_number[best.number]
    assert parent.data.tags["best_run_id"] == best_run.info.run_id
    checkpoints = client.list_artifacts(best_run.info.run_id, "checkpoint")
    assert [a.path for a in checkpoints] == [f"checkpoint/trial-{best.number}.pt"]


# ---- embedded store ----------------------------------------------------------------------------


def test_local_store_two_workers_one_parent_four_children(tmp_path: Path) -> None:
    summary = search(tmp_path, workers=2)
    uri = local_tracking_uri(tmp_path)
    assert summary["mlflow"]["tracking_uri"] == uri
    assert (tmp_path / "mlflow" / "mlflow.db").is_file()
    assert_layout(uri, tmp_path, "sine_mix", 4)
    parent, _ = runs_of(uri, "sine_mix")
    assert summary["mlflow"]["parent_run_id"] == parent.info.run_id
    assert api.best("sine_mix", str(tmp_path))["mlflow_run_id"]


def test_resume_reuses_the_parent_run(tmp_path: Path) -> None:
    search(tmp_path, trials=2, max_epochs=2)
    first, _ = runs_of(local_tracking_uri(tmp_path), "sine_mix")
    search(tmp_path, trials=3, max_epochs=2)
    parent, children = runs_of(local_tracking_uri(tmp_path), "sine_mix")
    assert parent.info.run_id == first.info.run_id
    assert parent.info.status == "FINISHED"
    assert len(children) == 3
    assert "resumed_at" in parent.data.tags


def test_orphans_are_closed_in_every_store_a_resumed_study_logged_to(tmp_path: Path) -> None:
    first = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    search(tmp_path, trials=1, max_epochs=2, tracking_uri=first)
    second = local_tracking_uri(tmp_path)
    search(tmp_path, trials=2, max_epochs=2)  # resumed, logging to the workspace's store
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_owner = f"{socket.gethostname()}:{int(ended.stdout)}:0"  # a process that has ended
    orphans = {}
    for uri in (first, second):  # one orphan in each store the study logged to
        client = MlflowClient(uri)
        experiment = client.get_experiment_by_name("sine_mix")
        assert experiment is not None
        run = client.create_run(
            experiment.experiment_id, tags={"automl_rnn.owner": dead_owner, "state": "running"}
        )
        orphans[uri] = run.info.run_id
    # `status` reports them and changes nothing; `repair` closes them.
    listed = api.status("sine_mix", str(tmp_path))["orphaned_runs"]
    assert sorted(listed) == sorted(orphans.values())
    assert all(MlflowClient(u).get_run(r).info.status == "RUNNING" for u, r in orphans.items())
    repaired = api.repair("sine_mix", str(tmp_path))
    assert sorted(repaired["closed_runs"]) == sorted(orphans.values())
    for uri, run_id in orphans.items():
        run = MlflowClient(uri).get_run(run_id)
        assert run.info.status == "KILLED", uri
        assert run.data.tags["state"] == "killed"
    parent, _ = runs_of(second, "sine_mix")
    assert parent.info.status == "FINISHED"
    assert runs_of(first, "sine_mix")[0].info.status == "FINISHED"


def test_after_an_interrupt_this_process_closes_its_trial_runs_left_open(tmp_path: Path) -> None:
    from automl_rnn.ownership import owner_tag
    from automl_rnn.tracking.hygiene import close_orphaned_runs

    uri = local_tracking_uri(tmp_path)
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("s")
    me = owner_tag()

    def run(role: str, owner: str) -> str:
        tags = {"automl_rnn.owner": owner, "automl_rnn.role": role, "state": "running"}
        return str(client.create_run(experiment_id, tags=tags).info.run_id)

    mine_trial, mine_search = run("trial", me), run("search", me)
    other = subprocess.Popen(  # another live process, with a trial run of its own
        [
            sys.executable,
            "-c",
            "from automl_rnn.ownership import owner_tag; print(owner_tag(), flush=True); "
            "import time; time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        others_trial = run("trial", other.stdout.readline().strip())
        assert close_orphaned_runs(uri, "s") == []  # every owner is alive
        assert close_orphaned_runs(uri, "s", ended_owner=me) == [mine_trial]
        assert client.get_run(others_trial).info.status == "RUNNING"
    finally:
        other.kill()
        other.wait()
    closed = client.get_run(mine_trial)
    assert closed.info.status == "KILLED"
    assert closed.data.tags["state"] == "killed"
    assert closed.data.tags["reason"] == "interrupted"
    assert client.get_run(mine_search).info.status == "RUNNING"  # ended by the search itself


@pytest.mark.parametrize("recovery", ["resumed search", "repair"])
def test_a_run_finished_before_its_killed_trial_was_recorded_ends_killed(
    tmp_path: Path, recovery: str
) -> None:
    """A process SIGKILLed after ending its trial's run (FINISHED) and before recording the
    trial leaves the trial RUNNING under a dead owner; recovery fails it ("worker died") and runs
    its parameters again, and the finished run must say so too (KILLED, with the reason), or the
    MLflow UI shows a finished trial the study never counted."""
    from automl_rnn.search.ledger import WORKER_DIED, Ledger

    search(tmp_path, trials=2, max_epochs=2)
    uri = local_tracking_uri(tmp_path)
    parent, _ = runs_of(uri, "sine_mix")
    study = optuna.load_study(study_name="sine_mix", storage=open_storage(tmp_path))
    template = next(t for t in study.trials if t.state == OptunaState.COMPLETE)
    cut = study.ask(fixed_distributions=template.distributions)  # RUNNING, never recorded
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}:{gone.pid}:0"
    client = MlflowClient(uri)
    run_id = client.create_run(
        parent.info.experiment_id,
        run_name=f"trial-{cut.number}",
        tags={
            "mlflow.parentRunId": parent.info.run_id,
            "automl_rnn.role": "trial",
            "automl_rnn.owner": dead,
            "trial": str(cut.number),
            "state": "complete",
        },
    ).info.run_id
    client.set_terminated(run_id, status="FINISHED")
    handle = Ledger(study._storage, study).handle(cut.number)
    handle.start(dead, seed=0)
    handle.set_run_id(run_id)

    if recovery == "repair":
        repaired = api.repair("sine_mix", str(tmp_path))
        assert repaired["failed_trials"] == [cut.number]
        assert repaired["closed_runs"] == [run_id]
    else:
        summary = search(tmp_path, trials=3, max_epochs=2)
        assert summary["recovered_trials"] == [cut.number]
        assert summary["counts"]["complete"] + summary["counts"]["pruned"] == 3
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert (run.data.tags["state"], run.data.tags["reason"]) == ("killed", WORKER_DIED)
    _, children = runs_of(uri, "sine_mix")
    others = [r for r in children if r.info.run_id != run_id]
    assert all(r.info.status == "FINISHED" for r in others)  # only that run changed


def test_the_parent_run_records_the_ensemble_export_makes_by_default(tmp_path: Path) -> None:
    """The model `export` makes by default (the mean of the 3 best trials of a one-series
    forecast) is in the parent run with the scores the search's summary reports."""
    summary = search(tmp_path, trials=3, max_epochs=2, pruner="none")
    ensemble = summary["ensemble"]
    assert ensemble is not None and ensemble["size"] == 3
    parent, _ = runs_of(local_tracking_uri(tmp_path), "sine_mix")
    assert parent.data.tags["ensemble_trials"] == ",".join(map(str, ensemble["trials"]))
    for name in ("val_mae", "test_mae", "test_rel_mae"):
        assert parent.data.metrics[f"ensemble_{name}"] == pytest.approx(ensemble["metrics"][name])


def test_failed_trials_are_failed_runs_with_reason(tmp_path: Path) -> None:
    summary = search(tmp_path, space=str(SPACES / "diverging.yaml"), trials=2, max_epochs=2)
    _, children = runs_of(local_tracking_uri(tmp_path), "sine_mix")
    # failed trials do not count towards --trials: the search stops at 10 failures in a row
    assert len(children) == summary["counts"]["failed"] == 10
    for run in children:
        assert run.info.status == "FAILED"
        assert run.data.tags["state"] == "failed"
        assert run.data.tags["reason"].startswith("diverged")


def test_no_tracking_writes_no_store(tmp_path: Path) -> None:
    summary = search(tmp_path, trials=1, max_epochs=1, tracking=False)
    assert "mlflow" not in summary
    assert not (tmp_path / "mlflow").exists()


def test_unreachable_tracking_server_is_a_clear_error_before_any_trial(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = subprocess.run(
        [
            *CLI,
            *("search", "--task", "sine_mix", "--space", "tiny", "--trials", "1", "--quiet"),
            *("--workspace", str(tmp_path), "--tracking-uri", f"http://127.0.0.1:{port}"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--tracking-uri" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not journal_path(tmp_path).exists()  # refused before any study was written


# ---- a real tracking server over HTTP ----------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on 127.0.0.1 with its own SQLite store and artifact folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
            *("--backend-store-uri", f"sqlite:///{root / 'server.db'}", "--workers", "1"),
            *("--artifacts-destination", (root / "artifacts").as_uri()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,  # its uvicorn child goes down with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, "mlflow server exited"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        yield url
    finally:
        stop_group(process)


@pytest.mark.slow
def test_tracking_server_over_http_one_parent_four_children(
    tmp_path: Path, mlflow_server: str
) -> None:
    summary = search(tmp_path, tracking_uri=mlflow_server, workers=2)
    assert summary["mlflow"]["tracking_uri"] == mlflow_server
    assert not (tmp_path / "mlflow").exists(), "a server URI must not create a local store"
    assert_layout(mlflow_server, tmp_path, "sine_mix", 4)


# ---- run hygiene -------------------------------------------------------------------------------


def _running_trial_runs(uri: str, study: str) -> list[Any]:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        return []
    return client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"
    )


def _start_search(workspace: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *CLI,
            *("search", "--task", "sine_mix", "--space", "tiny", "--trials", "50", "--quiet"),
            *("--max-epochs", "30", "--patience", "30", "--workers", "2"),
            *("--workspace", str(workspace), "--json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_running_trials(workspace: Path, process: subprocess.Popen[str]) -> None:
    """Until a trial run of each kind of process (driver and worker) is RUNNING."""
    uri = local_tracking_uri(workspace)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        if (workspace / "mlflow" / "mlflow.db").is_file():
            running = _running_trial_runs(uri, "sine_mix")
            owners = {
                r.data.tags.get("automl_rnn.owner") for r in running if "trial" in r.data.tags
            }
            if len(owners) >= 2:
                return
        time.sleep(0.5)
    raise AssertionError("no trial runs started")


@pytest.mark.slow
def test_sigkilled_search_then_repair_leaves_no_running_run(tmp_path: Path) -> None:
    """After a SIGKILL, ``status`` reports the stale trials and orphaned runs and changes
    nothing; ``repair`` then leaves no run RUNNING."""
    process = _start_search(tmp_path)
    try:
        _wait_for_running_trials(tmp_path, process)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    uri = local_tracking_uri(tmp_path)
    orphaned = _running_trial_runs(uri, "sine_mix")
    assert len(orphaned) >= 3  # the parent and a trial run per process: left RUNNING by SIGKILL
    workspace = ["--study", "sine_mix", "--workspace", str(tmp_path), "--json"]
    status = subprocess.run(
        [*CLI, "status", *workspace], capture_output=True, text=True, timeout=300
    )
    assert status.returncode == 0, status.stderr[-2000:]
    seen = json.loads(status.stdout)
    assert len(seen["stale_trials"]) >= 2  # the driver's trial and the worker's
    assert sorted(seen["orphaned_runs"]) == sorted(r.info.run_id for r in orphaned)
    assert len(_running_trial_runs(uri, "sine_mix")) == len(orphaned)  # status changed nothing
    repaired = subprocess.run(
        [*CLI, "repair", *workspace], capture_output=True, text=True, timeout=300
    )
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert sorted(json.loads(repaired.stdout)["failed_trials"]) == sorted(seen["stale_trials"])
    assert _running_trial_runs(uri, "sine_mix") == []
    client = MlflowClient(uri)
    for run in orphaned:
        closed = client.get_run(run.info.run_id)
        assert closed.info.status == "KILLED"


@pytest.mark.slow
def test_sigterm_ends_the_search_and_its_runs_as_killed(tmp_path: Path) -> None:
    process = _start_search(tmp_path)
    uri = local_tracking_uri(tmp_path)
    try:
        _wait_for_running_trials(tmp_path, process)
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 143, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    left = [(r.data.tags, r.info.run_id) for r in _running_trial_runs(uri, "sine_mix")]
    assert left == [], stderr[-2000:]
    parent, children = runs_of(uri, "sine_mix")
    assert parent.info.status == "KILLED"
    # The processes were in trials when the signal came: those runs end KILLED, not RUNNING
    # (a trial that happened to end just before the signal is FINISHED as usual).
    killed = [r for r in children if r.info.status == "KILLED"]
    assert killed, [r.info.status for r in children]
    assert {r.info.status for r in children} <= {"KILLED", "FINISHED", "FAILED"}
    assert all(r.data.tags["state"] == "killed" for r in killed)
    study = optuna.load_study(study_name="sine_mix", storage=open_storage(tmp_path))
    assert not study.get_trials(states=(OptunaState.RUNNING,))
    for run in killed:
        trial = study.trials[int(run.data.tags["trial"])]
        assert trial.state == OptunaState.FAIL
        assert trial.user_attrs["reason"] == "interrupted"
        # Cut short, not tried: its parameters wait for the resumed search.
        (retry,) = [t for t in study.trials if t.user_attrs.get("retry_of") == trial.number]
        assert retry.state == OptunaState.WAITING
        assert retry.system_attrs["fixed_params"] == trial.params
