"""Soak: a 200-trial search whose workers are SIGKILLed every ~30 s loses nothing (issue 17 §4).

    python bench/soak.py [--trials 200] [--workers 2] [--kill-every 30] [--seed 0] [--max-epochs 1]

The real CLI (``python -m automl_rnn.cli search --task sine_mix --space tiny``: the embedded
default, i.e. the Optuna backend with the journal storage and MLflow tracking in a fresh
workspace) runs a search of tiny trials while a killer SIGKILLs one of its workers about every
``--kill-every`` seconds (interval jittered by ±25 %, victim chosen at random; both seeded).

With ``--workers N`` the search's workers are the CLI process itself (worker 0 trains in the
driver) and the N-1 processes it forks (same command line, parent = the CLI). The killer picks
among those alive, once the forked workers exist (i.e. trials are running; with ``--workers 1``
once the ledger shows the driver training). What the product does about each kind of kill:

- a forked worker killed: its trial stays RUNNING in the ledger until another worker's next claim
  (``Ledger.recover_stale`` under the claims lock) fails it as "worker died" and queues its
  parameters again. The dead worker is not replaced; the others carry on to the budget.
- the CLI process killed: the command ends (its forked workers get SIGTERM from the kernel, fail
  their own trial as interrupted, queue it again and end its MLflow run KILLED). The bench then
  runs the same command again, as a user would: the resume fails the driver's stale trial, queues
  it again, closes the orphaned MLflow runs and reopens the parent run. ``resumes`` counts those
  extra commands.

The soak ends when a command exits 0 (the study holds ``--trials`` finished trials). Then it
reads the study's ledger (``Ledger.find(workspace, study).snapshot()``) and the workspace's MLflow
store (``MlflowClient`` over ``local_tracking_uri(workspace)``) and prints what each kill hit,
each command, and the last line::

    RESULT trials=<t> lost=<l> running_left=<r> runs_mismatch=<m> resumes=<n> kills=<k> wall_s=<s>

- ``trials``: trials recorded in the ledger, every state (a retried trial is a trial of its own);
- ``lost``: ``--trials`` minus finished trials (complete + pruned): what the search owes;
- ``running_left``: trials still RUNNING in the ledger + runs still RUNNING in the study's MLflow
  experiment (the parent run and the trial runs);
- ``runs_mismatch``: child runs of the study's parent run in MLflow (tag ``mlflow.parentRunId``)
  minus ledger trials that hold an MLflow run id (a trial stores its run's id right after
  creating it). 0: one run per trial that got one. Positive: runs no trial points at (e.g. a
  worker killed between creating its run and storing the id); negative: trials whose run is
  missing. The two id sets are compared as well, and any difference is listed;
- ``wall_s``: from the first command's start to the last one's end (resumes included).

Goal: lost 0, running_left 0, runs_mismatch 0. Per-command logs and the workspace are kept (the
path is printed) for a look with ``automl-rnn status --study soak --workspace W``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STUDY = "soak"
#: MLflow tag naming a run's parent run.
PARENT_TAG = "mlflow.parentRunId"


@dataclass(frozen=True)
class Proc:
    """A process as ``/proc`` shows it: pid and start time (the product's owner tag holds both)."""

    pid: int
    start: str

    @property
    def tag_suffix(self) -> str:
        """The end of an owner tag ``host:pid:start`` naming this process."""
        return f":{self.pid}:{self.start}"


@dataclass
class Kill:
    """One SIGKILL: when, whom, and (for the CLI process) which forked workers it orphaned."""

    number: int
    at: float
    """Seconds since the soak started."""
    epoch: float
    """``time.time()`` of the kill (to compare with the ledger's timestamps)."""
    command: int
    victim: Proc
    role: str
    orphans: list[Proc] = field(default_factory=list)


@dataclass
class Command:
    """One run of the search command (the first, then each resume)."""

    number: int
    code: int | None = None
    wall: float = 0.0
    summary: dict[str, Any] | None = None


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name: [state, ppid, ...] (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _alive(proc: Proc) -> bool:
    fields = _stat(proc.pid)
    return fields is not None and fields[0] not in ("Z", "X") and fields[19] == proc.start


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


def forked_workers(driver: int) -> list[Proc]:
    """Live children of ``driver`` running its own command line (forked search workers)."""
    own = _cmdline(driver)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields is None or fields[0] in ("Z", "X") or int(fields[1]) != driver:
            continue
        if _cmdline(int(entry)) == own:
            found.append(Proc(int(entry), fields[19]))
    return sorted(found, key=lambda p: p.pid)


def _driver_training(workspace: Path, driver: Proc) -> bool:
    """Whether the ledger shows ``driver`` running a trial (``--workers 1``: nothing is forked)."""
    from automl_rnn.search.ledger import Ledger
    from automl_rnn.search.records import TrialStatus

    ledger = Ledger.find(workspace, STUDY)
    if ledger is None:
        return False
    return any(
        (t.owner or "").endswith(driver.tag_suffix)
        for t in ledger.snapshot().by_status(TrialStatus.RUNNING)
    )


def search_command(args: argparse.Namespace, workspace: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "automl_rnn.cli",
        "search",
        "--task",
        "sine_mix",
        "--space",
        "tiny",
        "--trials",
        str(args.trials),
        "--workers",
        str(args.workers),
        "--max-epochs",
        str(args.max_epochs),
        "--seed",
        str(args.seed),
        "--study",
        STUDY,
        "--workspace",
        str(workspace),
        "--quiet",
        "--json",
    ]


def soak(args: argparse.Namespace, workspace: Path) -> tuple[list[Command], list[Kill], float]:
    """Run the search (again after each kill of the CLI process) until a command exits 0."""
    rng = random.Random(args.seed)
    logs = workspace / "soak-logs"
    logs.mkdir(parents=True, exist_ok=True)
    argv = search_command(args, workspace)
    commands: list[Command] = []
    kills: list[Kill] = []
    started = time.monotonic()

    def gap() -> float:
        return float(args.kill_every) * rng.uniform(0.75, 1.25)

    due = started + gap()
    while len(commands) <= args.max_resumes:
        command = Command(len(commands) + 1)
        commands.append(command)
        out, err = logs / f"command-{command.number}.out", logs / f"command-{command.number}.err"
        begun = time.monotonic()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            cli = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
            stat = _stat(cli.pid)
            driver = Proc(cli.pid, stat[19] if stat else "?")
            training, driver_killed = False, False
            orphans: list[Proc] = []
            while cli.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                workers = forked_workers(cli.pid)
                training = training or bool(workers)
                if now < due or driver_killed or now - started > args.max_wall:
                    continue
                if not training and args.workers == 1:
                    training = _driver_training(workspace, driver)
                if not training:
                    continue  # still starting: no trial to interrupt yet
                candidates = [driver, *workers]
                victim = rng.choice(candidates)
                try:
                    os.kill(victim.pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                role = "CLI (worker 0)" if victim == driver else "forked worker"
                kill = Kill(
                    len(kills) + 1, now - started, time.time(), command.number, victim, role
                )
                if victim == driver:
                    driver_killed, orphans = True, workers
                    kill.orphans = workers
                kills.append(kill)
                print(
                    f"t={kill.at:6.1f}s kill #{kill.number}: SIGKILL {role} pid {victim.pid} "
                    f"(command {command.number}, {len(candidates)} worker(s) alive"
                    + (f", {len(kill.orphans)} forked one(s) orphaned)" if kill.orphans else ")"),
                    flush=True,
                )
                due = now + gap()
        command.code = cli.returncode
        command.wall = time.monotonic() - begun
        if command.code == 0:
            command.summary = _json_tail(out)
            break
        if not driver_killed:  # it failed on its own: nothing to resume
            print(f"command {command.number} failed (exit {command.code}); see {err}", flush=True)
            break
        # The orphaned workers got SIGTERM: let them close their trial before the user reruns.
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in orphans) and time.monotonic() < deadline:
            time.sleep(0.1)
        print(
            f"t={time.monotonic() - started:6.1f}s command {command.number} ended (exit "
            f"{command.code}); running it again",
            flush=True,
        )
    return commands, kills, time.monotonic() - started


def _json_tail(path: Path) -> dict[str, Any] | None:
    """The JSON summary the command printed (None if it printed none)."""
    text = path.read_text(errors="replace")
    start = text.find("{")
    try:
        found = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


@dataclass
class Findings:
    trials: int
    finished: int
    counts: dict[str, int]
    running_trials: int
    running_runs: list[str]
    child_runs: int
    trials_with_run: int
    runs_without_trial: list[str]
    trials_without_run: list[int]
    status_disagree: list[str]
    orphaned_by_status: int
    table: list[tuple[str, ...]]


#: MLflow statuses that agree with each ledger status.
_AGREE = {
    "complete": ("FINISHED",),
    "pruned": ("FINISHED",),
    "failed": ("FAILED", "KILLED"),
    "running": ("RUNNING",),
}


def _all_runs(mlflow_client: Any, experiment_id: str) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = mlflow_client.search_runs([experiment_id], max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            return runs


def analyse(workspace: Path, kills: Sequence[Kill]) -> Findings:
    """Read the ledger and the MLflow store once the last command has ended."""
    from automl_rnn import api
    from automl_rnn.search.ledger import Ledger
    from automl_rnn.search.records import TrialStatus
    from automl_rnn.tracking.store import client, local_tracking_uri

    ledger = Ledger.find(workspace, STUDY)
    if ledger is None:
        return Findings(0, 0, {}, 0, [], 0, 0, [], [], [], 0, [])
    snapshot = ledger.snapshot()
    counts = snapshot.counts()
    mlflow_client = client(local_tracking_uri(workspace))
    experiment = mlflow_client.get_experiment_by_name(STUDY)
    runs = _all_runs(mlflow_client, experiment.experiment_id) if experiment else []
    parent = snapshot.info.mlflow_parent_run_id
    children = {r.info.run_id: r for r in runs if r.data.tags.get(PARENT_TAG) == parent}
    with_run = [t for t in snapshot.trials if t.mlflow_run_id]
    ledger_ids = {t.mlflow_run_id for t in with_run}
    disagree = [
        f"#{t.number} {t.status.value} / {children[t.mlflow_run_id].info.status}"
        for t in with_run
        if t.mlflow_run_id in children
        and children[t.mlflow_run_id].info.status not in _AGREE.get(t.status.value, ())
    ]
    retries = {t.retry_of: t for t in snapshot.trials if t.retry_of is not None}
    status_of_run = {r.info.run_id: r.info.status for r in runs}
    table: list[tuple[str, ...]] = []
    for kill in kills:
        hit = []
        for proc, why in [(kill.victim, "killed"), *((p, "orphan") for p in kill.orphans)]:
            for t in snapshot.trials:
                if not (t.owner or "").endswith(proc.tag_suffix):
                    continue
                if t.status in (TrialStatus.COMPLETE, TrialStatus.PRUNED):
                    continue
                retry = retries.get(t.number)
                again = f"#{retry.number} {retry.status.value}" if retry else "none"
                after = f"{t.completed.timestamp() - kill.epoch:.1f}s" if t.completed else "never"
                run = status_of_run.get(t.mlflow_run_id or "", "no run")
                hit.append((f"#{t.number} ({why})", t.reason or t.status.value, after, again, run))
        victim = f"{kill.role} {kill.victim.pid}"
        head = (str(kill.number), f"{kill.at:.1f}", str(kill.command), victim)
        if not hit:
            table.append((*head, "none (between trials)", "", "", "", ""))
        for row in hit:
            table.append((*head, *row))
            head = ("", "", "", "")
    status = api.status(STUDY, str(workspace))
    return Findings(
        trials=len(snapshot.trials),
        finished=counts["complete"] + counts["pruned"],
        counts=counts,
        running_trials=counts["running"],
        running_runs=[r.info.run_id for r in runs if r.info.status == "RUNNING"],
        child_runs=len(children),
        trials_with_run=len(with_run),
        runs_without_trial=sorted(set(children) - ledger_ids),
        trials_without_run=sorted(t.number for t in with_run if t.mlflow_run_id not in children),
        status_disagree=disagree,
        orphaned_by_status=len(status.get("orphaned_runs") or []),
        table=table,
    )


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=30.0, help="seconds (±25 %%)")
    parser.add_argument("--seed", type=int, default=0, help="search seed and killer seed")
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--max-resumes", type=int, default=100)
    parser.add_argument(
        "--max-wall", type=float, default=1800.0, help="no kill after this many seconds"
    )
    parser.add_argument("--workspace", help="default: a new folder under the temp dir (kept)")
    args = parser.parse_args()
    workspace = Path(args.workspace or tempfile.mkdtemp(prefix="automl-rnn-soak-")).resolve()
    print(f"workspace {workspace}", flush=True)
    print("command: " + " ".join(search_command(args, workspace)[1:]), flush=True)
    commands, kills, wall = soak(args, workspace)
    found = analyse(workspace, kills)

    print("\nkills (what each hit; 'orphan': a forked worker of a killed CLI process):")
    print_table(
        ("kill", "t_s", "cmd", "victim", "trial", "ended as", "failed after", "retry", "run"),
        found.table,
    )
    print("\ncommands:")
    print_table(
        ("cmd", "exit", "wall_s", "kills", "recovered_trials (its summary)"),
        [
            (
                str(c.number),
                str(c.code),
                f"{c.wall:.1f}",
                str(sum(k.command == c.number for k in kills)),
                str(c.summary.get("recovered_trials")) if c.summary else "-",
            )
            for c in commands
        ],
    )
    counts = ", ".join(f"{k} {v}" for k, v in found.counts.items())
    print(f"\nledger: {found.trials} trials ({counts})")
    print(
        f"MLflow: {found.child_runs} child runs, {found.trials_with_run} trials with a run id, "
        f"{len(found.running_runs)} runs RUNNING, `status` lists {found.orphaned_by_status} "
        "orphaned runs"
    )
    for label, items in (
        ("runs RUNNING", found.running_runs),
        ("child runs no trial points at", found.runs_without_trial),
        ("trials whose run is not a child run", found.trials_without_run),
        ("trial / run states that disagree", found.status_disagree),
    ):
        if items:
            print(f"  {label}: {', '.join(map(str, items))}")
    code = commands[-1].code if commands else None
    if code != 0:
        print(f"the last command exited {code}: the search did not finish")
    lost = args.trials - found.finished
    running_left = found.running_trials + len(found.running_runs)
    mismatch = found.child_runs - found.trials_with_run
    print(
        f"RESULT trials={found.trials} lost={lost} running_left={running_left} "
        f"runs_mismatch={mismatch} resumes={len(commands) - 1} kills={len(kills)} "
        f"wall_s={wall:.0f}"
    )


if __name__ == "__main__":
    main()
