"""``automl-rnn search / best / status`` end to end: real subprocesses on tmp workspaces."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState as OptunaState

from automl_rnn.search.storage import journal_path, open_storage
from automl_rnn.tracking.store import client, local_tracking_uri

optuna.logging.set_verbosity(optuna.logging.WARNING)

CLI = [sys.executable, "-m", "automl_rnn.cli"]
TINY = ["--task", "sine_mix", "--space", "tiny", "--max-epochs", "2", "--quiet", "--json"]
EXPERIMENTS = Path(__file__).parents[1] / "fixtures" / "experiments"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=580)


def ok_json(*args: str) -> Any:
    done = cli(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def study_names(workspace: Path) -> list[str]:
    if not journal_path(workspace).is_file():
        return []
    return [s.study_name for s in optuna.get_all_study_summaries(open_storage(workspace))]


def load(workspace: Path, name: str = "sine_mix") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(workspace))


def per_trial(workspace: Path) -> list[tuple[int, str, dict[str, Any], float | None]]:
    return [(t.number, t.state.name, t.params, t.value) for t in load(workspace).trials]


FINISHED = (OptunaState.COMPLETE, OptunaState.PRUNED)


# ---- search, best, status ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One 3-trial search (seed 0, one worker) shared by the tests that only read it."""
    workspace = tmp_path_factory.mktemp("searched")
    summary = ok_json("search", *TINY, "--trials", "3", "--workspace", str(workspace))
    return workspace, summary


def test_search_summary_counts_three_finished_trials(searched: tuple[Path, dict[str, Any]]) -> None:
    workspace, summary = searched
    counts = summary["counts"]
    assert counts["complete"] + counts["pruned"] == 3
    assert counts["failed"] == counts["running"] == 0
    assert summary["study"] == "sine_mix" and summary["space"] == "tiny"
    assert Path(summary["workspace"]) == workspace.resolve()
    assert study_names(workspace) == ["sine_mix"]


def test_best_json_has_the_documented_keys(searched: tuple[Path, dict[str, Any]]) -> None:
    workspace, _ = searched
    record = ok_json("best", "--study", "sine_mix", "--workspace", str(workspace), "--json")
    for key in ("study", "trial", "state", "value", "params", "metrics", "seed", "mlflow_run_id"):
        assert key in record, key
    assert record["study"] == "sine_mix" and record["state"] == "complete"
    for name in ("test_mae", "test_mase", "test_rel_mae"):
        assert math.isfinite(record["metrics"][name]), name
    study = load(workspace)
    assert record["value"] == study.best_value
    assert record["trial"] == study.best_trial.number
    assert record["seed"] == study.best_trial.user_attrs["seed"]
    assert record["params"]["cell"] in ("gru", "lstm")


def test_search_scores_the_classical_baselines_and_every_view_gives_the_same_verdict(
    searched: tuple[Path, dict[str, Any]],
) -> None:
    """AutoETS and AutoARIMA scored on the same windows; summary, best --json and the MLflow
    parent run carry the same numbers, and the verdict's lists follow from them."""
    workspace, summary = searched
    verdict = summary["baseline"]
    classical = verdict["classical"]
    assert set(classical) == {"auto_ets", "auto_arima"}
    for scores in classical.values():
        assert "error" not in scores, scores
        assert math.isfinite(scores["val_mae"]) and math.isfinite(scores["test_mae"])
    ours = verdict["test_mae"]
    lost = sorted(s["model"] for s in classical.values() if s["test_mae"] <= ours)
    if verdict["seasonal_naive_mae"] <= ours:
        lost.append("seasonal naive")
    assert sorted(verdict["does_not_beat"]) == sorted(lost)
    assert ("does NOT beat" in verdict["classical_verdict"]) == bool(lost)
    record = ok_json("best", "--study", "sine_mix", "--workspace", str(workspace), "--json")
    assert record["baseline"] == verdict
    parent = client(local_tracking_uri(workspace)).get_run(summary["mlflow"]["parent_run_id"])
    for key, scores in classical.items():
        assert parent.data.metrics[f"baseline_{key}_test_mae"] == pytest.approx(scores["test_mae"])
    assert parent.data.tags["classical_verdict"] == verdict["classical_verdict"]
    assert parent.data.tags["winner_on_test"] == verdict["winner_on_test"]


def test_no_classical_baselines_flag_skips_them(tmp_path: Path) -> None:
    summary = ok_json(
        "search",
        *TINY,
        "--trials",
        "1",
        "--no-tracking",
        "--no-classical-baselines",
        "--workspace",
        str(tmp_path),
    )
    assert summary["baseline"]["verdict"] in (
        "beats seasonal naive",
        "does NOT beat seasonal naive",
    )
    assert "classical" not in summary["baseline"]
    assert load(tmp_path).user_attrs.get("classical_baselines") is None


def test_status_json_counts_trials_by_state(searched: tuple[Path, dict[str, Any]]) -> None:
    workspace, summary = searched
    payload = ok_json("status", "--study", "sine_mix", "--workspace", str(workspace), "--json")
    counts = payload["counts"]
    assert {"complete", "pruned", "failed", "running"} <= set(counts)
    assert {k: counts[k] for k in ("complete", "pruned", "failed", "running")} == {
        k: summary["counts"][k] for k in ("complete", "pruned", "failed", "running")
    }
    assert payload["best"]["trial"] == summary["best"]["trial"]


@pytest.mark.slow
def test_same_seed_one_worker_gives_the_same_trials(
    searched: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    workspace, _ = searched
    ok_json("search", *TINY, "--trials", "3", "--seed", "0", "--workspace", str(tmp_path))
    again = per_trial(tmp_path)
    assert len(again) == 3
    assert again == per_trial(workspace)


# ---- resume ------------------------------------------------------------------------------------


def wait_for_one_finished_and_one_running(process: subprocess.Popen[str], workspace: Path) -> None:
    while True:
        assert process.poll() is None, "the search ended before it could be interrupted"
        time.sleep(0.2)
        if "sine_mix" not in study_names(workspace):
            continue
        trials = load(workspace).get_trials(deepcopy=False)
        running = [t for t in trials if t.state == OptunaState.RUNNING]
        if running and running[0].params and any(t.state in FINISHED for t in trials):
            return


@pytest.mark.slow
def test_search_killed_mid_trial_resumes_to_the_requested_trials(tmp_path: Path) -> None:
    # Trials long enough (12 epochs) that the search cannot finish while `status` runs.
    command = [*CLI, "search", *TINY, "--trials", "3", "--max-epochs", "12"]
    command += ["--workspace", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_one_finished_and_one_running(process, tmp_path)
        # `status` of a live search reads it without touching the trial that is running.
        live = ok_json("status", "--study", "sine_mix", "--workspace", str(tmp_path), "--json")
        assert live["counts"]["failed"] == 0
        wait_for_one_finished_and_one_running(process, tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()  # reaped: the pid is gone, as after a real crash
    killed = next(t for t in load(tmp_path).trials if t.state == OptunaState.RUNNING)

    done = subprocess.run(command, capture_output=True, text=True, timeout=580)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["recovered_trials"] == [killed.number]

    study = load(tmp_path)
    assert len(study.get_trials(states=FINISHED)) == 3
    assert not study.get_trials(states=(OptunaState.RUNNING, OptunaState.WAITING))
    dead = study.trials[killed.number]
    assert dead.state == OptunaState.FAIL
    assert "worker died" in dead.user_attrs["reason"]
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == killed.number]
    assert len(retries) == 1
    assert retries[0].number > killed.number and retries[0].params == killed.params
    assert retries[0].state in FINISHED


@pytest.mark.slow
def test_resumed_search_samples_new_configurations(tmp_path: Path) -> None:
    """Running the same study again continues it: kept trials count, new ones are new points."""
    ok_json("search", *TINY, "--trials", "2", "--workspace", str(tmp_path))
    summary = ok_json("search", *TINY, "--trials", "4", "--workspace", str(tmp_path))
    assert summary["counts"]["complete"] + summary["counts"]["pruned"] == 4
    trials = load(tmp_path).trials
    assert len(trials) == 4
    first, resumed = [t.params for t in trials[:2]], [t.params for t in trials[2:]]
    assert all(p not in first for p in resumed), (first, resumed)


# ---- multi-objective, workers ------------------------------------------------------------------


def dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and a != b


def test_two_objectives_give_values_and_a_pareto_front(tmp_path: Path) -> None:
    workspace = str(tmp_path)
    args = ("--trials", "3", "--objectives", "val_loss,params", "--workspace", workspace)
    summary = ok_json("search", *TINY, *args)
    assert summary["objectives"] == ["val_loss", "params"]
    record = ok_json("best", "--study", "sine_mix", "--workspace", workspace, "--json")
    values = record["values"]
    assert len(values) == 2 and all(math.isfinite(v) for v in values)
    assert values[1] == record["metrics"]["params"]  # the parameter count is the 2nd objective
    front = record["pareto_front"]
    assert front and record["trial"] in [p["trial"] for p in front]
    assert all(len(p["values"]) == 2 for p in front)
    for p in front:
        assert not any(dominates(q["values"], p["values"]) for q in front)
    # The text outputs show the whole front too, not one best.
    for text in (
        cli("best", "--study", "sine_mix", "--workspace", workspace).stdout,
        cli("search", *[a for a in TINY if a != "--json"], *args).stdout,  # resumed: no new trial
    ):
        assert f"Pareto front ({len(front)} trials" in text, text
        for p in front:
            assert f"trial #{p['trial']}: " in text, text


@pytest.mark.slow
def test_two_workers_share_the_study_without_locking_errors(tmp_path: Path) -> None:
    # Enough work (8 unpruned trials of 5 epochs) that the spawned worker, which starts a few
    # seconds after the in-process one, still finds trials to run.
    done = cli(
        "search", *TINY, "--trials", "8", "--max-epochs", "5", "--pruner", "none",
        "--workers", "2", "--workspace", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "database is locked" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    study = load(tmp_path)
    finished = study.get_trials(states=FINISHED)
    assert len(finished) == 8
    assert not study.get_trials(states=(OptunaState.RUNNING, OptunaState.FAIL))
    owners = {t.user_attrs["owner"].split(":")[1] for t in study.trials}
    assert len(owners) == 2  # both worker processes ran trials


# ---- errors a user can cause -------------------------------------------------------------------


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


SEARCH = ["search", "--space", "tiny", "--trials", "1", "--max-epochs", "1", "--quiet"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--task", "sine_mx"], ["unknown task 'sine_mx'", "did you mean 'sine_mix'"]),
        (["--task", "sine_mix", "--space", "tinyy"], ["search space 'tinyy'", "'tiny'"]),
        (
            ["--config", str(EXPERIMENTS / "unknown_key.yaml")],
            ["unknown_key.yaml", "unknown key 'trails'", "did you mean 'trials'"],
        ),
        (["--task", "sine_mix", "--topology", "vec2seq"], ["vec2seq", "sine_mix"]),
        (["--task", "sine_mix", "--objectives", "bogus"], ["unknown objective 'bogus'"]),
        (["--task", "sine_mix", "--study", "../up"], ["study", "'../up'", "without /"]),
        (["--task", "sine_mix", "--study", "a\nb"], ["study", "not a study name"]),
        (["--task", "sine_mix", "--seed", "-1"], ["seed", "greater than or equal to 0"]),
        (["--task", "sine_mix", "--trials", "abc"], ["'--trials'", "valid integer", "--help"]),
        (["--task", "sine_mix", "--trails", "3"], ["No such option: --trails", "--trials"]),
        (
            ["--task", "sine_mix", "--tracking-uri", "http://127.0.0.1:1"],
            ["no MLflow server answers at http://127.0.0.1:1"],
        ),
        (
            ["--task", "sine_mix", "--tracking-uri", "notaurl://x"],
            ["MLflow tracking at notaurl://x is not usable"],
        ),
    ],
    ids=[
        "unknown-task",
        "unknown-space",
        "unknown-yaml-key",
        "topology-misfit",
        "bad-objective",
        "study-path",
        "study-control-character",
        "negative-seed",
        "flag-not-a-number",
        "flag-misspelt",
        "tracking-server-down",
        "tracking-uri-unusable",
    ],
)
def test_search_user_errors_are_one_line_exit_2_and_create_no_study(
    tmp_path: Path, args: list[str], fragments: list[str]
) -> None:
    workspace = tmp_path / "ws"
    done = cli(*SEARCH, *args, "--workspace", str(workspace))
    assert_one_line_error(done, *fragments)
    assert study_names(workspace) == []
    assert not (workspace / "checkpoints").exists()


def test_a_task_file_given_by_path_searches_as_a_study_named_after_the_file(
    tmp_path: Path,
) -> None:
    from automl_rnn.data.catalog import task_path

    task = tmp_path / "tasks" / "my_sines.yaml"
    task.parent.mkdir()
    text = task_path("sine_mix").read_text().replace("name: sine_mix", "name: my_sines")
    task.write_text(text)
    workspace = tmp_path / "ws"
    done = cli(*SEARCH, "--task", str(task), "--workspace", str(workspace), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert study_names(workspace) == ["my_sines"]
    summary = json.loads(done.stdout)
    assert summary["counts"]["complete"] == 1, summary  # its checkpoint sits in the workspace
    assert (workspace / "checkpoints" / "my_sines" / "trial-0.pt").is_file()


@pytest.mark.parametrize("command", ["best", "status"])
def test_unknown_study_is_one_line_exit_2(
    command: str, searched: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    workspace, _ = searched
    done = cli(command, "--study", "nope", "--workspace", str(workspace), "--json")
    assert_one_line_error(done, "'nope'", "sine_mix")  # names the studies there are
    assert study_names(workspace) == ["sine_mix"]
    empty = cli(command, "--study", "nope", "--workspace", str(tmp_path))
    assert_one_line_error(empty, "no studies", str(tmp_path))
    assert not journal_path(tmp_path).exists()


# ---- a light command line ----------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"]])
def test_help_imports_no_torch_mlflow_or_ray(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "automl_rnn.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Usage" in done.stdout
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "typer" in imported  # the log really lists what was imported
    heavy = {"torch", "mlflow", "ray", "pytorch_lightning", "lightning"}
    assert not imported & heavy, sorted(imported & heavy)


def test_failed_trials_print_reasons_not_tracebacks(tmp_path: Path) -> None:
    diverging = Path(__file__).parents[1] / "fixtures" / "spaces" / "diverging.yaml"
    done = cli(
        "search", "--task", "sine_mix", "--space", str(diverging), "--trials", "1",
        "--max-epochs", "2", "--workspace", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert "failed x" in done.stdout and "diverged: " in done.stdout
    # Every configuration diverges: the search stops on its failure cap, and says so.
    assert "stopped early: " in done.stdout and "failed in a row" in done.stdout


# ---- workers that die --------------------------------------------------------------------------


def wait_for_a_worker_trial(process: subprocess.Popen[Any], workspace: Path) -> tuple[int, str]:
    """(number, owner tag) of a trial the spawned worker (not the driver) is running."""
    while True:
        assert process.poll() is None, "the search ended before a worker ran a trial"
        time.sleep(0.2)
        if "sine_mix" not in study_names(workspace):
            continue
        for trial in load(workspace).get_trials(deepcopy=False, states=(OptunaState.RUNNING,)):
            owner = trial.user_attrs.get("owner")
            tracked = trial.user_attrs.get("mlflow_run_id")
            if owner and int(owner.split(":")[1]) != process.pid and trial.params and tracked:
                return trial.number, owner


@pytest.mark.slow
def test_a_worker_killed_mid_search_leaves_the_search_to_finish_its_trials(tmp_path: Path) -> None:
    """SIGKILL one of two workers mid-trial: the same search fails that trial, runs its
    parameters again and ends with exactly --trials finished trials, none left RUNNING, and
    the dead worker's MLflow run ended KILLED (not RUNNING under a finished parent)."""
    command = [*CLI, "search", *TINY, "--trials", "4", "--max-epochs", "12", "--pruner", "none"]
    command += ["--workers", "2", "--workspace", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim, owner = wait_for_a_worker_trial(process, tmp_path)
        os.kill(int(owner.split(":")[1]), signal.SIGKILL)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert "warning: worker 1 ended with exit code -9" in err
    study = load(tmp_path)
    assert len(study.get_trials(states=FINISHED)) == 4
    assert not study.get_trials(states=(OptunaState.RUNNING, OptunaState.WAITING))
    dead = study.trials[victim]
    assert dead.state == OptunaState.FAIL and "worker died" in dead.user_attrs["reason"]
    (retry,) = [t for t in study.trials if t.user_attrs.get("retry_of") == victim]
    assert retry.params == dead.params and retry.state in FINISHED
    assert victim in json.loads(out)["recovered_trials"]
    from mlflow import MlflowClient

    from automl_rnn.tracking.store import local_tracking_uri

    run = MlflowClient(local_tracking_uri(tmp_path)).get_run(dead.user_attrs["mlflow_run_id"])
    assert run.info.status == "KILLED"


@pytest.mark.slow
def test_workers_end_when_their_driver_is_killed(tmp_path: Path) -> None:
    """SIGKILL the driver (no cleanup runs in it): its worker does not train on unattended."""
    from automl_rnn.ownership import owner_alive

    command = [*CLI, "search", *TINY, "--trials", "40", "--max-epochs", "12", "--pruner", "none"]
    command += ["--workers", "2", "--workspace", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, owner = wait_for_a_worker_trial(process, tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 60
    while owner_alive(owner) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not owner_alive(owner), f"worker {owner} still runs after its driver died"
