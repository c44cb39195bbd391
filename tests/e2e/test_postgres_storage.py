"""``search --storage postgresql://...``: several machines (here: processes with separate
workspaces) work one study on a real PostgreSQL server (``postgres`` fixture, tests/conftest.py).

What is checked: the trial budget is exact across machines (no overshoot), ten searches started
at once on an empty database all succeed, a search killed mid-trial costs no trial, a bad
``--storage`` is one line and exit 2, and the password never shows.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.postgres_support import PASSWORD, Cluster

CLI = [sys.executable, "-m", "automl_rnn.cli"]
TINY = ["--task", "sine_mix", "--space", "tiny", "--max-epochs", "1", "--no-tracking", "--quiet"]


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=580)
    assert PASSWORD not in out + err
    return process.returncode, out, err


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=580)
    assert PASSWORD not in done.stdout + done.stderr
    return done


def trials(url: str, study: str) -> list[Any]:
    import optuna

    return optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)


def assert_exact(url: str, study: str, n: int) -> list[Any]:
    """``n`` trials finished, none left running or queued, each number once."""
    from optuna.trial import TrialState

    held = trials(url, study)
    done = [t for t in held if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == n, [(t.number, t.state.name) for t in held]
    assert not [t for t in held if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    numbers = [t.number for t in held]
    assert len(numbers) == len(set(numbers))
    return held


def assert_no_password_stored(postgres: Cluster, url: str) -> None:
    from sqlalchemy.engine import make_url

    database = str(make_url(url).database)
    rows = postgres.query(database, "SELECT value_json FROM study_user_attributes")
    stored = " ".join(str(r[0]) for r in rows)
    assert "storage" in stored and "***" in stored and PASSWORD not in stored


@pytest.mark.slow
def test_three_searches_on_two_machines_share_one_study(postgres: Cluster, tmp_path: Path) -> None:
    url = postgres.new_database()
    common = [*TINY, "--trials", "6", "--study", "shared", "--storage", url, "--json"]
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    tracked = [a for a in common if a != "--no-tracking"]  # MLflow params must not hold it
    runs = [
        start("search", *tracked, "--workspace", str(machine_a), "--workers", "2"),
        start("search", *common, "--workspace", str(machine_b)),
        start("search", *common, "--workspace", str(machine_b), "--seed", "7"),
    ]
    for run in runs:
        code, _, err = finish(run)
        assert code == 0, err
    held = assert_exact(url, "shared", 6)
    best = cli("best", "--study", "shared", "--storage", url, "--json")
    assert best.returncode == 0, best.stderr
    top = json.loads(best.stdout)
    finished = [t for t in held if t.values]
    assert top["trial"] == min(finished, key=lambda t: (t.values[0], t.number)).number
    status = cli("status", "--study", "shared", "--storage", url, "--json")
    assert json.loads(status.stdout)["counts"]["running"] == 0
    assert_no_password_stored(postgres, url)
    logged = [p for p in (machine_a / "mlflow").rglob("*") if p.is_file()]
    assert logged and not [p for p in logged if PASSWORD.encode() in p.read_bytes()]


@pytest.mark.slow
def test_ten_searches_started_at_once_on_an_empty_database(
    postgres: Cluster, tmp_path: Path
) -> None:
    url = postgres.new_database()  # no schema yet: all ten create it at once
    args = [*TINY, "--trials", "5", "--study", "burst", "--storage", url]
    runs = [start("search", *args, "--workspace", str(tmp_path / f"m{i}")) for i in range(10)]
    for run in runs:
        code, _, err = finish(run)
        assert code == 0, err
    assert_exact(url, "burst", 5)


def _absent_driver() -> str:
    """A URL whose dialect exists in SQLAlchemy but whose driver is not installed here."""
    for module, scheme in (("pymysql", "mysql+pymysql"), ("pg8000", "postgresql+pg8000")):
        if find_spec(module) is None:
            return f"{scheme}://user:{PASSWORD}@db.example/search"
    pytest.skip("every candidate driver is installed")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong password", "password authentication failed"),
        ("no server", "cannot use the database"),
        ("missing driver", "is not installed"),
        ("unknown dialect", "unknown kind of database"),
        ("not a URL", "not a database URL"),
    ],
)
def test_a_bad_storage_is_one_line_and_exit_2(
    postgres: Cluster, tmp_path: Path, case: str, expected: str
) -> None:
    url = {
        "wrong password": postgres.url("postgres", password="not-" + PASSWORD),
        "no server": f"postgresql+psycopg://u:{PASSWORD}@/db?host={tmp_path / 'no-socket'}",
        "missing driver": _absent_driver() if case == "missing driver" else "",
        "unknown dialect": f"nosuchdb://u:{PASSWORD}@host/db",
        "not a URL": f"just {PASSWORD} words",
    }[case]
    workspace = tmp_path / "ws"
    done = cli("search", *TINY, "--trials", "2", "--storage", url, "--workspace", str(workspace))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--storage" in lines[0]
    assert expected in lines[0], lines[0]
    assert PASSWORD.replace("not-", "") not in done.stderr + done.stdout
    assert not workspace.exists()  # nothing written
    for command in ("status", "search"):  # a read, and a resume by --study alone
        done = cli(command, "--study", "x", "--storage", url, "--workspace", str(workspace))
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert expected in done.stderr or case == "not a URL"


@pytest.mark.slow
def test_a_search_killed_mid_trial_costs_no_trial(postgres: Cluster, tmp_path: Path) -> None:
    url = postgres.new_database()
    args = [*TINY, "--max-epochs", "3", "--trials", "5", "--study", "killed", "--storage", url]
    args += ["--sampler", "random"]
    victim = start("search", *args, "--workspace", str(tmp_path / "a"))
    try:
        running = _wait_for_a_running_trial(url, victim.pid)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=60)
    survivor = start("search", *args, "--workspace", str(tmp_path / "b"))
    code, _, err = finish(survivor)
    assert code == 0, err
    held = assert_exact(url, "killed", 5)
    dead = next(t for t in held if t.number == running)
    assert dead.state.name == "FAIL" and dead.user_attrs["reason"].startswith("worker died")
    retry = next(t for t in held if t.user_attrs.get("retry_of") == running)
    assert retry.state.name in ("COMPLETE", "PRUNED") and retry.params == dead.params


def _wait_for_a_running_trial(url: str, pid: int) -> int:
    """The number of a trial that process ``pid`` is training and heartbeating (polled for up to
    2 minutes)."""
    from optuna.trial import TrialState

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            for trial in trials(url, "killed"):
                owner = str(trial.user_attrs.get("owner", ""))
                beating = "heartbeat" in trial.user_attrs  # other machines see it alive
                if trial.state == TrialState.RUNNING and f":{pid}:" in owner and beating:
                    return trial.number
        except Exception:  # no schema or study yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"process {pid} never ran a trial")


def test_a_trial_silent_past_the_grace_period_is_stale() -> None:
    """Another machine's process cannot be checked by pid: its heartbeat decides."""
    from datetime import datetime

    from automl_rnn.search.records import (
        HEARTBEAT_GRACE_S,
        StudyInfo,
        StudySnapshot,
        TrialRecord,
        TrialStatus,
    )

    now = datetime.now()
    elsewhere = "another-machine.example:4242:123"
    beat = now.timestamp()

    def running(number: int, heartbeat: float | None) -> TrialRecord:
        return TrialRecord(
            number, TrialStatus.RUNNING, owner=elsewhere, heartbeat=heartbeat, started=now
        )

    snapshot = StudySnapshot(
        StudyInfo("s", ("minimize",), ("val_loss",)),
        (
            running(0, beat - 5),
            running(1, beat - HEARTBEAT_GRACE_S - 1),
            running(2, None),  # no heartbeat (a journal): the owner tag decides, alive elsewhere
        ),
    )
    assert [t.number for t in snapshot.stale(now)] == [1]


def test_the_claims_lock_holds_across_machines(postgres: Cluster, tmp_path: Path) -> None:
    """Two 'machines' (separate workspaces, separate connections) exclude each other on one
    study's claims, not on another study's: a file lock in the workspace could not."""
    import threading

    from automl_rnn.search.storage import claims_lock, open_storage

    url = postgres.new_database()
    mine, theirs = open_storage(tmp_path / "a", url), open_storage(tmp_path / "b", url)
    held, release, got = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with claims_lock(tmp_path / "a", mine, "s"):
            held.set()
            release.wait(30)

    def claimer(study: str) -> None:
        with claims_lock(tmp_path / "b", theirs, study):
            got.set()

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(30)
    other = threading.Thread(target=claimer, args=("another study",))
    other.start()
    assert got.wait(30)  # another study's claims do not wait
    other.join()
    got.clear()
    second = threading.Thread(target=claimer, args=("s",))
    second.start()
    assert not got.wait(1.5)  # the same study's claims wait for the holder...
    release.set()
    assert got.wait(30)  # ...and go on once it lets go
    first.join()
    second.join()


_CREATE_AT = """
import sys, time
from pathlib import Path
import optuna, sqlalchemy  # imported before the start line, so all create at once
from automl_rnn.search.ledger import Ledger
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
Ledger.create(Path(sys.argv[3]), "race", ["minimize"], sys.argv[1])
"""


@pytest.mark.slow
def test_workers_creating_the_schema_at_the_same_instant_do_not_crash(
    postgres: Cluster, tmp_path: Path
) -> None:
    """Optuna's schema created by ten processes at once on an empty database (optuna #1092:
    they race on ``CREATE TYPE``): one creates it under the schema lock, the others load it.
    Each imports first and then waits for the same instant (12 s ahead: ten imports on two
    cores take that long)."""
    url = postgres.new_database()
    at = str(time.time() + 12)
    runs = [start_python(_CREATE_AT, url, at, str(tmp_path / f"m{i}")) for i in range(10)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err[-2000:]
    assert trials(url, "race") == []


def start_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
