"""The ledger's study-level writes and trial bookkeeping through a real journal storage, each
read back by a fresh ``Ledger.open`` (a new reader of the file, as another command would be)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState as OptunaState

from automl_rnn.errors import UserError
from automl_rnn.search.ledger import INTERRUPTED, WORKER_DIED, Ledger
from automl_rnn.search.records import OWNER_GRACE_S, TrialStatus
from automl_rnn.search.storage import CLAIMS
from automl_rnn.search.stored import EPOCH_CHECKPOINT, EXPERIMENT, KIND, objective_names

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = {"cell": CategoricalDistribution(["gru", "lstm"]), "hidden_size": IntDistribution(8, 16)}


def reopened(tmp_path: Path, name: str = "s") -> Ledger:
    return Ledger.open(tmp_path, name)


def test_the_study_info_round_trips_what_the_search_stored(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize", "maximize"])
    ledger.store_experiment({"task": "sine_mix", "trials": 4}, "forecast", ["val_mae", "speed"])
    ledger.set_parent_run("parent-1")
    ledger.store_classical("abc", {"auto_ets": {"model": "AutoETS", "test_mae": 1.5}})
    info = reopened(tmp_path).info()
    assert info.name == "s" and info.directions == ("minimize", "maximize")
    assert info.objective_names == ("val_mae", "speed")
    assert (info.kind, info.task, info.experiment) == (
        "forecast",
        "sine_mix",
        {"task": "sine_mix", "trials": 4},
    )
    assert info.mlflow_parent_run_id == "parent-1" and info.stopped is None
    assert info.classical == {"auto_ets": {"model": "AutoETS", "test_mae": 1.5}}
    assert reopened(tmp_path).classical_fingerprint() == "abc"
    assert reopened(tmp_path).stored_experiment() == {"task": "sine_mix", "trials": 4}


def test_a_study_without_stored_names_falls_back_to_flags_then_the_kind_default() -> None:
    assert objective_names(None, {"objectives": ["val_mae", "params"]}, None, 2) == (
        "val_mae",
        "params",
    )
    assert objective_names(["a"], {}, "forecast", 2) == ("objective 1", "objective 2")
    assert objective_names(None, {}, "forecast", 1) == ("val_mae",)
    assert objective_names(None, {}, None, 1) == ("objective 1",)


def test_tracking_uris_keep_each_place_once_the_latest_last(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    for where in ("file:/a", "http://b", "file:/a"):
        ledger.add_tracking_uri(where)
    assert reopened(tmp_path).info().tracking_uris == ("http://b", "file:/a")


def test_a_stop_note_is_kept_until_a_later_search_clears_it(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    ledger.set_stopped(None)  # nothing to clear: nothing written
    assert "stopped" not in ledger.study.user_attrs
    ledger.set_stopped("timeout after 60 s")
    assert reopened(tmp_path).info().stopped == "timeout after 60 s"
    reopened(tmp_path).set_stopped(None)
    assert reopened(tmp_path).info().stopped is None


def test_running_and_finished_trials_count_towards_trials_queued_and_failed_do_not(
    tmp_path: Path,
) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    states = [OptunaState.COMPLETE, OptunaState.PRUNED, OptunaState.FAIL, None]
    for state in states:
        trial = ledger.study.ask(SPACE)
        if state is OptunaState.COMPLETE:
            ledger.study.tell(trial, 0.5)
        elif state is not None:
            ledger.study.tell(trial, state=state)
    ledger.requeue({"cell": "gru", "hidden_size": 9}, retry_of=2)
    # complete, pruned and the running one; the failed one and the queued retry do not count
    assert reopened(tmp_path).claimed() == 3


def test_a_requeued_trial_carries_its_origin_and_where_to_resume(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    ledger.requeue({"cell": "gru", "hidden_size": 9}, retry_of=4, resume_from="/snap/epoch-2.pt")
    ledger.requeue({"cell": "lstm", "hidden_size": 10}, retry_of=5)
    ledger.requeue({}, retry_of=6)  # cut before any parameter was drawn: nothing to run again
    first, second = reopened(tmp_path).snapshot().trials
    assert (first.status, first.retry_of, first.resume_from) == (
        TrialStatus.WAITING,
        4,
        "/snap/epoch-2.pt",
    )
    assert (second.retry_of, second.resume_from) == (5, None)
    trial = ledger.study.ask(SPACE)  # a worker takes the first queued one
    assert trial.params == {"cell": "gru", "hidden_size": 9}
    assert ledger.handle(trial.number).resume_from() == "/snap/epoch-2.pt"


def test_an_epoch_checkpoint_noted_by_a_trial_is_where_its_retry_resumes(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    trial = ledger.study.ask(SPACE)
    handle = ledger.handle(trial.number)
    handle.set_epoch_checkpoint("/snap/trial-0/epoch-3.pt")
    handle.interrupted(trial.params, "/snap/trial-0/epoch-3.pt")
    ledger.study.tell(trial, state=OptunaState.FAIL)
    cut, retry = reopened(tmp_path).snapshot().trials
    assert (cut.reason, cut.epoch_checkpoint) == (INTERRUPTED, "/snap/trial-0/epoch-3.pt")
    assert (retry.retry_of, retry.resume_from) == (0, "/snap/trial-0/epoch-3.pt")


def test_failures_since_a_moment_are_picked_by_reason_and_time(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "s", ["minimize"])

    def fail(reason: str) -> int:
        trial = ledger.study.ask(SPACE)
        ledger.handle(trial.number).fail(reason)
        ledger.study.tell(trial, state=OptunaState.FAIL)
        return trial.number

    old = fail(WORKER_DIED)
    time.sleep(0.05)
    since = time.time()
    time.sleep(0.05)
    died, cut = fail(WORKER_DIED), fail(INTERRUPTED)
    again = reopened(tmp_path)
    assert again.recovered_since(since) == [died]
    assert again.failed_since(since, INTERRUPTED) == [cut]
    assert again.recovered_since(0.0) == [old, died]


def test_a_deleted_study_is_gone_and_finding_it_creates_nothing(tmp_path: Path) -> None:
    Ledger.create(tmp_path, "s", ["minimize"]).delete()
    assert Ledger.find(tmp_path, "s") is None
    with pytest.raises(UserError, match=r"no study 's' in this workspace \(studies: none yet\)"):
        Ledger.open(tmp_path, "s")
    assert Ledger.find(tmp_path, "other") is None


def test_opening_a_study_that_is_not_there_says_what_the_workspace_holds(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^no studies in workspace .* \(run `automl-rnn search`"):
        Ledger.open(tmp_path, "s")
    Ledger.create(tmp_path, "kept", ["minimize"])
    Ledger.create(tmp_path, "also", ["minimize"])
    with pytest.raises(
        UserError, match=r"^no study 's' in this workspace \(studies: also, kept\)$"
    ):
        Ledger.open(tmp_path, "s")


def test_trial_claims_are_locked_in_the_studys_own_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ledger = Ledger.create(workspace, "s", ["minimize"])
    assert ledger.workspace == workspace and ledger.url is None
    with ledger.claims():
        assert (workspace / CLAIMS).is_file()


def test_recovery_requeues_every_dead_trial_from_its_last_epoch_checkpoint(tmp_path: Path) -> None:
    """Two RUNNING trials whose owner never wrote, past the grace period, each with an epoch
    checkpoint noted: both are failed as WORKER_DIED and queued to continue from there."""
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    started = datetime.now() - timedelta(seconds=OWNER_GRACE_S + 30)
    for number, hidden in enumerate((9, 12)):
        trial = optuna.trial.create_trial(
            state=OptunaState.RUNNING,
            params={"cell": "gru", "hidden_size": hidden},
            distributions=SPACE,
            user_attrs={EPOCH_CHECKPOINT: f"/snap/trial-{number}/epoch-2.pt"},
        )
        trial.datetime_start = started
        ledger.study.add_trial(trial)
    assert ledger.recover_stale() == [0, 1]
    study = reopened(tmp_path).snapshot()
    for number in (0, 1):
        assert (study.trials[number].status, study.trials[number].reason) == (
            TrialStatus.FAILED,
            WORKER_DIED,
        )
        (retry,) = [t for t in study.trials if t.retry_of == number]
        assert retry.status is TrialStatus.WAITING
        assert retry.resume_from == f"/snap/trial-{number}/epoch-2.pt"
    assert reopened(tmp_path).recover_stale() == []


def test_a_reopened_study_locks_its_claims_in_its_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    Ledger.create(workspace, "s", ["minimize"])
    again = Ledger.open(workspace, "s")
    assert again.workspace == workspace
    with again.claims():
        assert (workspace / CLAIMS).is_file()


def test_a_study_stored_before_objective_names_were_kept_takes_its_kinds_default(
    tmp_path: Path,
) -> None:
    """An older study: an experiment naming its data file and the task kind, no objectives."""
    ledger = Ledger.create(tmp_path, "s", ["minimize"])
    ledger.study.set_user_attr(EXPERIMENT, {"data": "sales.csv"})
    ledger.study.set_user_attr(KIND, "forecast")
    info = reopened(tmp_path).info()
    assert (info.task, info.kind, info.objective_names) == ("sales.csv", "forecast", ("val_mae",))
