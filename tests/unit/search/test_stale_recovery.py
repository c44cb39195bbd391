"""A RUNNING trial that never recorded its owner (its worker died between Optuna creating the
trial and the first write) is stale once the grace period has passed, and recovery fails it and
queues its parameters again: in a real journal storage, through ``status`` and ``repair``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState as OptunaState

from automl_rnn import api
from automl_rnn.ownership import owner_tag
from automl_rnn.search.ledger import WORKER_DIED, Ledger
from automl_rnn.search.records import OWNER_GRACE_S, TrialStatus
from automl_rnn.search.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

LR = {"lr": FloatDistribution(1e-3, 1e-1, log=True)}


def _running_without_owner(study: optuna.Study, lr: float, started: datetime) -> int:
    """A RUNNING trial with no owner attribute, started at ``started``; returns its number."""
    trial = optuna.trial.create_trial(
        state=OptunaState.RUNNING, params={"lr": lr}, distributions=LR
    )
    trial.datetime_start = started
    study.add_trial(trial)
    return study.trials[-1].number


def test_a_running_trial_without_an_owner_is_recovered_after_the_grace_period(
    tmp_path: Path,
) -> None:
    study = optuna.create_study(study_name="s", storage=open_storage(tmp_path))
    now = datetime.now()
    orphan = _running_without_owner(study, 0.01, now - timedelta(seconds=OWNER_GRACE_S + 30))
    starting = _running_without_owner(study, 0.02, now)  # within the grace period

    snapshot = Ledger.open(tmp_path, "s").snapshot()
    assert snapshot.trials[orphan].owner is None and snapshot.trials[orphan].started is not None
    assert [t.number for t in snapshot.stale()] == [orphan]
    assert api.status("s", str(tmp_path))["stale_trials"] == [orphan]

    repaired = api.repair("s", str(tmp_path))
    assert repaired["failed_trials"] == [orphan]
    (retry,) = repaired["requeued"]
    after = Ledger.open(tmp_path, "s").snapshot()
    assert (after.trials[orphan].status, after.trials[orphan].reason) == (
        TrialStatus.FAILED,
        WORKER_DIED,
    )
    assert after.trials[starting].status is TrialStatus.RUNNING  # its worker may still write
    assert (after.trials[retry].status, after.trials[retry].retry_of) == (
        TrialStatus.WAITING,
        orphan,
    )
    reloaded = optuna.load_study(study_name="s", storage=open_storage(tmp_path))
    assert reloaded.trials[retry].system_attrs["fixed_params"] == {"lr": 0.01}
    assert api.repair("s", str(tmp_path))["failed_trials"] == []  # recovered once


def test_a_trial_another_process_recovered_a_moment_ago_is_skipped_and_the_rest_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes recover at once: this one saw trials A and B stale, the other failed A in
    between. A is skipped (not failed or queued twice) and B still recovered."""
    study = optuna.create_study(study_name="s", storage=open_storage(tmp_path))
    old = datetime.now() - timedelta(seconds=OWNER_GRACE_S + 30)
    first, second = (_running_without_owner(study, lr, old) for lr in (0.01, 0.02))
    mine, theirs = Ledger.open(tmp_path, "s"), Ledger.open(tmp_path, "s")
    seen = mine.snapshot()
    assert [t.number for t in seen.stale()] == [first, second]
    theirs.study.tell(first, state=OptunaState.FAIL)  # the other process, a moment ago
    monkeypatch.setattr(mine, "snapshot", lambda: seen)
    assert mine.recover_stale() == [second]
    after = Ledger.open(tmp_path, "s").snapshot()
    assert [t.retry_of for t in after.by_status(TrialStatus.WAITING)] == [second]


def test_an_interrupted_trial_is_failed_even_when_its_requeue_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the storage refuses a write: the interrupt goes on (the trial is marked
    interrupted, and no storage error replaces the interrupt); only the requeue is lost."""
    from automl_rnn.search.ledger import INTERRUPTED

    study = optuna.create_study(study_name="s", storage=open_storage(tmp_path))
    number = _running_without_owner(study, 0.01, datetime.now())
    ledger = Ledger.open(tmp_path, "s")

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ledger, "requeue", refuse)
    ledger.handle(number).interrupted({"lr": 0.01})
    after = Ledger.open(tmp_path, "s").snapshot()
    assert after.trials[number].reason == INTERRUPTED
    assert after.by_status(TrialStatus.WAITING) == []


def test_an_ownerless_running_trial_is_starting_until_the_grace_period_ends(
    tmp_path: Path,
) -> None:
    """A search must not end on a trial that has no owner yet: within the grace period it is
    ``starting`` (a worker may write its owner any moment, or died first), after it stale."""
    study = optuna.create_study(study_name="s", storage=open_storage(tmp_path))
    now = datetime.now()
    young = _running_without_owner(study, 0.01, now - timedelta(seconds=OWNER_GRACE_S - 5))
    old = _running_without_owner(study, 0.02, now - timedelta(seconds=OWNER_GRACE_S + 5))
    owned = _running_without_owner(study, 0.03, now)
    ledger = Ledger.open(tmp_path, "s")
    ledger.handle(owned).start(owner_tag(), 7)  # this process: alive, neither
    snapshot = ledger.snapshot()
    assert [t.number for t in snapshot.starting(now)] == [young]
    assert [t.number for t in snapshot.stale(now)] == [old]
    later = now + timedelta(seconds=10)
    assert snapshot.starting(later) == [] and young in [t.number for t in snapshot.stale(later)]


def test_a_worker_waits_for_a_starting_trial_at_most_the_grace_period_by_its_own_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start time from another machine's local clock may lie hours ahead: the wait is
    bounded by this process's monotonic clock from when it first saw the trial."""
    import automl_rnn.backends.optuna_backend as backend

    study = optuna.create_study(study_name="s", storage=open_storage(tmp_path))
    ahead = _running_without_owner(study, 0.01, datetime.now() + timedelta(hours=2))
    starting = Ledger.open(tmp_path, "s").snapshot().starting()
    assert [t.number for t in starting] == [ahead]
    clock = iter([100.0, 100.0 + OWNER_GRACE_S - 1, 100.0 + OWNER_GRACE_S, 200.0])
    monkeypatch.setattr(backend, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    waiting: dict[int, float] = {}
    assert backend._still_starting(starting, waiting)  # first seen: wait
    assert backend._still_starting(starting, waiting)  # within the grace period
    assert not backend._still_starting(starting, waiting)  # past it: stop waiting
    assert not backend._still_starting([], {})
