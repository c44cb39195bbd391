"""The Ray Tune backend end to end through the CLI, each command in a subprocess that starts and
stops a Ray of its own: a 4-trial search, a driver killed mid-search and resumed, Ray missing;
and the parameters it samples, against the Optuna backend's.

What a search leaves is read through the ledger and MLflow, never from Ray's files; the Ray
processes of a command are found by the marker of :func:`ray_support.private_ray_env`.
Scheduling, resources and multi-node clusters: ``test_ray_cluster.py``.
"""

from __future__ import annotations

import json
import math
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from automl_rnn import api
from automl_rnn.search.ledger import WORKER_DIED, Ledger
from automl_rnn.search.records import TrialStatus
from automl_rnn.search.storage import journal_path
from automl_rnn.trial.runner import trial_seed
from tests.e2e.ray_support import (
    CLI,
    CLI_TINY,
    FINISHED,
    described,
    epoch_steps,
    epochs_trained,
    ledger,
    most_at_once,
    private_ray_env,
    ray_processes,
    runs_of,
    wait_gone,
)

pytestmark = pytest.mark.ray
pytest.importorskip("ray", reason="the Ray backend's tests need the ray extra")

# ---- a 4-trial search through the CLI: killed mid-search, then resumed ------------------------

#: A SIGKILLed driver cleans nothing: its GCS and raylet die with it (Ray's fate-sharing), and
#: each of Ray's agents, seeing its raylet gone unannounced, spends up to 60 s (Ray's timeout)
#: reporting that to the dead GCS before it exits (61 s measured on an idle machine).
KILLED_RAY_GONE_S = 120.0


def wait_for_a_finished_and_a_running_trial(
    process: subprocess.Popen[str], workspace: Path
) -> None:
    """Return once a trial runs with an epoch checkpointed (its MLflow run open) and another
    has finished."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before it could be killed mid-trial"
        found = Ledger.find(workspace, "sine_mix")
        study = found.snapshot() if found is not None else None
        running = study.by_status(TrialStatus.RUNNING) if study else []
        mid_trial = any(t.mlflow_run_id and t.epoch_checkpoint for t in running)
        if study and study.by_status(*FINISHED) and mid_trial:
            return
        time.sleep(0.2)
    raise AssertionError("no trial ran an epoch after one finished within 300 s")


@pytest.fixture(scope="module")
def cli_search(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``automl-rnn search --backend ray --trials 4 --max-concurrent 2`` (3 epochs, tracking on)
    in a subprocess with no Ray running, SIGKILLed (no cleanup runs) once a trial has trained an
    epoch after another finished; then the same command again, to its end. Each command starts a Ray of its
    own; the second one's Ray processes are sampled while it runs."""
    workspace = tmp_path_factory.mktemp("ray-cli")
    command = [*CLI, "search", *CLI_TINY, "--backend", "ray", "--max-epochs", "3"]
    command += ["--trials", "4", "--max-concurrent", "2", "--workspace", str(workspace)]
    with private_ray_env() as killed_env, private_ray_env() as env:
        quiet = subprocess.DEVNULL
        process = subprocess.Popen(command, stdout=quiet, stderr=quiet, text=True, env=killed_env)
        try:
            wait_for_a_finished_and_a_running_trial(process, workspace)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        killed_at, killed = time.monotonic(), ledger(workspace)
        before, seen = ray_processes(env), set[int]()
        with (workspace.parent / "ray-cli.err").open("w+") as err:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=err, text=True, env=env
            )
            while process.poll() is None:
                seen |= ray_processes(env)
                time.sleep(0.5)
            out = process.communicate(timeout=300)[0]
            err.seek(0)
            stderr = err.read()
        left = wait_gone(env, 2)
        killed_left = wait_gone(killed_env, killed_at + KILLED_RAY_GONE_S - time.monotonic())
    assert process.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return {
        **{"workspace": workspace, "summary": json.loads(out), "killed": killed},
        **{"before": before, "seen": seen, "left": left, "killed_left": killed_left},
    }


@pytest.mark.slow
def test_ray_search_finishes_exactly_the_requested_trials(
    cli_search: dict[str, Any], tmp_path: Path
) -> None:
    """4 trials, 2 at a time: exactly 4 finished in the ledger, each sampled in the space, the
    complete ones with their seed and their best weights copied into the workspace, so that
    ``best`` and ``export`` work on a Ray-run study as on any other."""
    workspace, summary = cli_search["workspace"], cli_search["summary"]
    study = ledger(workspace)
    counts = study.counts()
    assert summary["counts"] == counts
    assert counts["complete"] + counts["pruned"] == 4 and counts["complete"] >= 1, counts
    assert counts["running"] == counts["waiting"] == 0
    finished = [(t.started, t.completed) for t in study.by_status(*FINISHED)]
    assert most_at_once((a.timestamp(), b.timestamp()) for a, b in finished if a and b) == 2
    # The tiny space's declared values and bounds (a trial the kill cut while it was being
    # sampled holds only the parameters drawn before).
    for trial in study.by_status(*FINISHED):
        assert trial.sampled["cell"] in ("gru", "lstm")
        assert 8 <= int(str(trial.sampled["hidden_size"])) <= 16
        assert 3e-3 <= float(str(trial.sampled["lr"])) <= 3e-2
        assert trial.seed == trial_seed(0, trial.number)
    for trial in study.by_status(TrialStatus.COMPLETE):
        assert trial.value is not None and math.isfinite(trial.value)
        expected = workspace.resolve() / "checkpoints" / "sine_mix" / f"trial-{trial.number}.pt"
        assert trial.checkpoint is not None and Path(trial.checkpoint).resolve() == expected
        state = torch.load(expected, weights_only=True)
        assert state and all(torch.isfinite(v).all() for v in state.values())
    for trial in study.by_status(TrialStatus.PRUNED):
        assert trial.values is None and trial.checkpoint is None

    top = study.best()
    assert top is not None
    record = api.best("sine_mix", str(workspace))
    assert (record["trial"], record["value"]) == (top.number, top.value)
    assert summary["best"]["trial"] == top.number
    exported = api.export(
        "sine_mix", str(tmp_path / "model"), workspace=str(workspace), formats="onnx,torchscript"
    )
    assert {"model.onnx", "model.torchscript.pt"} <= set(exported["files"])


@pytest.mark.slow
def test_a_killed_ray_search_resumes_without_rerunning_finished_trials(
    cli_search: dict[str, Any],
) -> None:
    """After the driver's SIGKILL the same command fails the trials it cut, runs their
    parameters again from their last epoch's checkpoint, and keeps every finished trial as it
    was (its parameters not run again)."""
    killed = cli_search["killed"]
    cut = [t.number for t in killed.by_status(TrialStatus.RUNNING)]
    kept = killed.by_status(*FINISHED)
    assert cut and kept, killed.counts()
    assert cli_search["summary"]["recovered_trials"] == cut
    study = ledger(cli_search["workspace"])
    assert study.counts()["failed"] == len(cut)
    for trial in kept:
        assert study.trials[trial.number] == trial
        assert [t.sampled for t in study.trials].count(trial.sampled) == 1
    for number in cut:
        dead = study.trials[number]
        assert dead.status is TrialStatus.FAILED and dead.reason == WORKER_DIED
        retries = [t for t in study.trials if t.retry_of == number]
        if not dead.sampled:  # cut before its first parameter was drawn: nothing to run again
            assert not retries
            continue
        (retry,) = retries
        assert retry.status in FINISHED
        assert {k: retry.sampled[k] for k in dead.sampled} == dead.sampled
        if dead.epoch_checkpoint:  # it had trained an epoch: the retry continued from there
            assert retry.resume_from == dead.epoch_checkpoint
            if retry.status is TrialStatus.COMPLETE:
                assert retry.metrics["resumed_from_epoch"] >= 1
    assert any(killed.trials[n].epoch_checkpoint for n in cut), "no cut trial had an epoch"


@pytest.mark.slow
def test_ray_search_logs_one_child_run_per_trial_with_each_epoch_once(
    cli_search: dict[str, Any],
) -> None:
    """One parent run (kept across the resume), one child run per trial under it (its id in
    the ledger), none left RUNNING by the killed driver, each finished one ended with the
    trial's state and one ``val_loss`` point per epoch trained: none lost, none twice."""
    workspace = cli_search["workspace"]
    study = ledger(workspace)
    parent, children = runs_of(workspace)
    assert parent.info.status == "FINISHED"
    assert study.info.mlflow_parent_run_id == parent.info.run_id
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    by_number = {int(r.data.tags["trial"]): r for r in children}
    assert sorted(by_number) == [t.number for t in study.trials if t.mlflow_run_id]
    for trial in study.trials:
        if trial.status is TrialStatus.FAILED:  # cut by the kill (maybe before its run began)
            if trial.mlflow_run_id:  # closed by the resume
                assert by_number[trial.number].info.status == "KILLED", trial.number
            continue
        run = by_number[trial.number]
        assert trial.mlflow_run_id == run.info.run_id
        assert (run.info.status, run.data.tags["state"]) == ("FINISHED", trial.status.value)
        steps = epoch_steps(workspace, run.info.run_id)
        assert steps == list(range(epochs_trained(trial))), (trial.number, trial.reason, steps)
        assert len(run.data.tags["nodes"].split(",")) == 1  # the node it ran on
        if trial.status is TrialStatus.COMPLETE:
            assert run.data.tags["node"] == socket.gethostname()


@pytest.mark.slow
def test_ray_search_stops_the_ray_it_started(cli_search: dict[str, Any]) -> None:
    """The CLI started a local Ray (its processes seen while it ran) and the command returns
    with none of them left (2 s allowed for the last exits to be seen); the SIGKILLed driver's
    end on their own within :data:`KILLED_RAY_GONE_S` of the kill."""
    assert not cli_search["before"]
    assert cli_search["seen"], "no Ray process of the command was seen while it ran"
    assert not cli_search["left"], described(cli_search["left"])
    assert not cli_search["killed_left"], described(cli_search["killed_left"])


@pytest.mark.slow
@pytest.mark.parametrize(("sent", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_ray_search_ends_its_runs_and_its_ray_and_resumes_mid_trial(
    tmp_path: Path, sent: signal.Signals, status: int
) -> None:
    """SIGTERM or Ctrl-C once a trial has trained an epoch: the command exits with 143 / 130,
    leaves no Ray process and no MLflow run RUNNING, and fails the cut trial as interrupted,
    queued again to continue from its last epoch's checkpoint."""
    command = [*CLI, "search", *CLI_TINY, "--backend", "ray", "--max-epochs", "4"]
    command += ["--trials", "1", "--scheduler", "none", "--workspace", str(tmp_path)]
    with private_ray_env() as env:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert process.poll() is None, "the search ended before it could be stopped"
            found = Ledger.find(tmp_path, "sine_mix")
            running = found.snapshot().by_status(TrialStatus.RUNNING) if found else []
            if any(t.epoch_checkpoint for t in running):
                break
            time.sleep(0.2)
        process.send_signal(sent)
        _, err = process.communicate(timeout=120)
        left = wait_gone(env, 10)
    assert process.returncode == status, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert not left, described(left)
    study = ledger(tmp_path)
    (cut,) = study.trials[:1]
    assert (cut.status, cut.reason) == (TrialStatus.FAILED, "interrupted")
    (queued,) = study.by_status(TrialStatus.WAITING)
    assert queued.retry_of == cut.number  # its parameters are fixed when it is asked
    assert queued.resume_from == cut.epoch_checkpoint is not None
    parent, children = runs_of(tmp_path)
    assert "RUNNING" not in {parent.info.status, *(r.info.status for r in children)}


# ---- where Ray runs: missing, or a cluster this machine knew before ----------------------------


def test_backend_ray_without_ray_installed_says_how_to_install_it(tmp_path: Path) -> None:
    """``import ray`` fails in the CLI's process: one line naming the extra to install, exit 2,
    no traceback, and no study written."""
    no_ray = "import sys; sys.modules['ray'] = None; from automl_rnn.cli import main; main()"
    command = [sys.executable, "-c", no_ray, "search", *CLI_TINY, "--backend", "ray"]
    done = subprocess.run(
        [*command, "--trials", "1", "--workspace", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "pip install 'automl-rnn[ray]'" in lines[0]
    assert not done.stdout.strip()
    assert not journal_path(tmp_path).exists()


@pytest.mark.slow
def test_without_address_a_search_starts_its_own_ray_whatever_cluster_was_known() -> None:
    """Ray's temp folder still names a cluster (a ``ray start --head`` since stopped, a test
    cluster that crashed): with no ``--address`` the backend starts a local Ray all the same,
    neither joining that address nor failing on it, and stops it."""
    code = "from automl_rnn.backends.ray_backend import ray_cluster\n"
    code += "with ray_cluster(None) as nodes:\n    print(nodes)"
    with private_ray_env() as env:
        stale = Path(env["RAY_TMPDIR"]) / "ray" / "ray_current_cluster"
        stale.parent.mkdir()
        stale.write_text("127.0.0.1:1")
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env
        )
        left = wait_gone(env, 10)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["1"]
    assert not left, described(left)


# ---- the same space on both backends -----------------------------------------------------------


def check_value(name: str, value: object, rule: object) -> None:
    """``value`` is what ``rule`` (the space file's entry) allows."""
    if isinstance(rule, dict) and "choices" in rule:
        assert value in rule["choices"], (name, value)
    elif isinstance(rule, dict) and "low" in rule:
        assert isinstance(value, int | float), (name, value)
        assert rule["low"] <= value <= rule["high"], (name, value)
    elif rule == "auto":
        assert isinstance(value, int) and value > 0, (name, value)
    else:
        assert value == rule, (name, value)


def applies(rule: object, params: Mapping[str, object]) -> bool:
    """Whether a parameter's ``when:`` condition holds for ``params`` (no condition: it does)."""
    condition = rule.get("when") if isinstance(rule, dict) else None
    for key, wanted in (condition or {}).items():
        if params.get(key) not in (wanted if isinstance(wanted, list) else [wanted]):
            return False
    return True


def names_by_branch(drawn: Iterable[Mapping[str, object]]) -> dict[tuple[object, ...], set[str]]:
    """The parameter names drawn for each (topology, num_layers): the branching parameters."""
    branches: dict[tuple[object, ...], set[str]] = {}
    for params in drawn:
        names = branches.setdefault((params["topology"], params["num_layers"]), set(params))
        assert names == set(params), sorted(names ^ set(params))  # the same in each draw
    return branches


def test_a_conditional_space_samples_the_same_names_per_branch_on_both_backends(
    tmp_path: Path,
) -> None:
    """The default forecast space (``dropout`` when 2 layers, ``teacher_forcing`` for the
    encoder-decoders) drawn through the Ray backend's searcher and the Optuna backend's
    ask-and-suggest: the same parameter names in every branch, each value within its bounds."""
    from automl_rnn.backends.base import SearchJob
    from automl_rnn.backends.optuna_backend import open_study
    from automl_rnn.backends.ray_driver import LedgerSearcher
    from automl_rnn.backends.ray_trainable import PARAMS_KEY
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.search.plan import make_plan

    draws = 36
    drawn: dict[str, list[dict[str, object]]] = {}
    for backend in ("optuna", "ray"):
        workspace = tmp_path / backend
        spec = ExperimentSpec(
            task="sine_mix", space="forecast", sampler="random", trials=draws + 1,
            workspace=str(workspace), backend=backend,
        )  # fmt: skip
        plan = make_plan(spec)
        study = open_study(Ledger.create(workspace, "sine_mix", ["minimize"]), spec, 0)
        if backend == "ray":
            searcher = LedgerSearcher(SearchJob(spec, plan), study, "val_metric", "min")
            configs = [searcher.suggest(f"trial-{i}") for i in range(draws)]
            drawn[backend] = [p for c in configs if c and isinstance(p := c[PARAMS_KEY], dict)]
        else:
            drawn[backend] = [plan.space.suggest(study.ask()) for _ in range(draws)]
        assert len(drawn[backend]) == draws
    rules = yaml.safe_load(
        (Path(__file__).parents[2] / "search_spaces" / "forecast.yaml").read_text()
    )
    for params in drawn["optuna"] + drawn["ray"]:
        assert set(params) <= set(rules["params"]), sorted(set(params) - set(rules["params"]))
        for name, rule in rules["params"].items():
            assert (name in params) == applies(rule, params), (name, params)
            if name in params:
                check_value(name, params[name], rule)
    optuna_branches, ray_branches = names_by_branch(drawn["optuna"]), names_by_branch(drawn["ray"])
    assert len(ray_branches) >= 4, sorted(ray_branches)  # both layer counts, several topologies
    assert ray_branches == optuna_branches
