"""The ledger's record rules on hand-built trials (best, Pareto front, counts, failure tally,
elapsed time, stale trials), and one round trip of every field through a real journal storage."""

from __future__ import annotations

import dataclasses
import math
import socket
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState as OptunaState

from automl_rnn.ownership import owner_alive, owner_tag
from automl_rnn.search.ledger import INTERRUPTED, Ledger
from automl_rnn.search.records import (
    HEARTBEAT_GRACE_S,
    OWNER_GRACE_S,
    StudyInfo,
    StudySnapshot,
    TrialRecord,
    TrialStatus,
)
from automl_rnn.trial.outcome import TrialResult, TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)

T0 = datetime(2026, 1, 1, 12, 0, 0)
COMPLETE, PRUNED, FAILED = TrialStatus.COMPLETE, TrialStatus.PRUNED, TrialStatus.FAILED
RUNNING, WAITING = TrialStatus.RUNNING, TrialStatus.WAITING


def done(number: int, *values: float) -> TrialRecord:
    return TrialRecord(number=number, status=COMPLETE, values=values)


def other(number: int, status: TrialStatus, reason: str | None = None) -> TrialRecord:
    return TrialRecord(number=number, status=status, reason=reason)


def snapshot(directions: tuple[str, ...], *trials: TrialRecord) -> StudySnapshot:
    names = tuple(f"objective {i + 1}" for i in range(len(directions)))
    return StudySnapshot(StudyInfo("study", directions, names), trials)


def numbers(trials: list[TrialRecord]) -> list[int]:
    return [t.number for t in trials]


# ---- best and ranked ---------------------------------------------------------------------------

# Trials 1 and 2 hold the extremes; pruned, failed and running trials hold no values.
ONE_OBJECTIVE = (
    done(0, 0.5),
    done(1, 0.2),
    other(2, PRUNED, "pruned at epoch 1"),
    done(3, 0.9),
    other(4, FAILED, "out_of_memory"),
    other(5, RUNNING),
)


@pytest.mark.parametrize(
    ("direction", "best", "ranked"),
    [("minimize", 1, [1, 0, 3]), ("maximize", 3, [3, 0, 1])],
)
def test_best_is_the_lowest_value_when_minimizing_and_the_highest_when_maximizing(
    direction: str, best: int, ranked: list[int]
) -> None:
    study = snapshot((direction,), *ONE_OBJECTIVE)
    top = study.best()
    assert top is not None and top.number == best
    assert numbers(study.ranked()) == ranked  # completed trials only, best first


def test_no_best_before_a_trial_completes() -> None:
    study = snapshot(("minimize",), other(0, FAILED, "x"), other(1, PRUNED), other(2, RUNNING))
    assert study.best() is None
    assert study.ranked() == [] and study.pareto_front() == []


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_ties_go_to_the_earlier_trial(direction: str) -> None:
    worse = 0.9 if direction == "minimize" else 0.1
    # Listed later trial first: the rule is the trial number, not the order read.
    study = snapshot((direction,), done(4, 0.5), done(2, worse), done(1, 0.5))
    top = study.best()
    assert top is not None and top.number == 1
    assert numbers(study.ranked()) == [1, 4, 2]


def test_ties_on_a_pareto_front_go_to_the_earlier_trial() -> None:
    study = snapshot(("minimize", "minimize"), done(3, 0.5, 2.0), done(1, 0.5, 2.0))
    assert numbers(study.pareto_front()) == [1, 3]  # neither dominates the other
    top = study.best()
    assert top is not None and top.number == 1


# ---- Pareto front ------------------------------------------------------------------------------

# Two objectives; which trials dominate which depends on both directions.
TWO_OBJECTIVES = (
    done(0, 0.95, 6.0),
    done(1, 0.90, 3.0),
    done(2, 0.95, 5.0),
    done(3, 0.80, 1.0),
    done(4, 0.85, 4.0),
    done(5, 0.70, 2.0),
    other(6, FAILED, "diverged: non-finite loss"),
    other(7, PRUNED, "pruned at epoch 1"),
)


@pytest.mark.parametrize(
    ("directions", "front"),
    [
        # 0 is dominated by 2 (as high, lower second), 4 by 1, 5 by 3; front highest first.
        (("maximize", "minimize"), [2, 1, 3]),
        # 2 is dominated by 0 (as low, higher second), 1 by 4, 3 by 5; front lowest first.
        (("minimize", "maximize"), [5, 4, 0]),
    ],
    ids=["max-min", "min-max"],
)
def test_pareto_front_holds_the_non_dominated_trials_best_first_on_objective_1(
    directions: tuple[str, str], front: list[int]
) -> None:
    study = snapshot(directions, *TWO_OBJECTIVES)
    assert numbers(study.pareto_front()) == front
    top = study.best()
    assert top is not None and top.number == front[0]


def test_multi_objective_best_is_never_a_dominated_trial() -> None:
    """Trial 0 ties trial 2 on the first objective and is earlier, but 2 dominates it."""
    study = snapshot(("maximize", "minimize"), *TWO_OBJECTIVES)
    assert numbers(study.ranked())[:2] == [0, 2]  # first objective alone: 0 first
    top = study.best()
    assert top is not None and top.number == 2


# ---- is_best -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "better", "worse"),
    [("minimize", 0.1, 0.3), ("maximize", 0.95, 0.8)],
)
def test_is_best_beats_the_best_so_far_in_the_first_objectives_direction(
    direction: str, better: float, worse: float
) -> None:
    study = snapshot((direction,), *ONE_OBJECTIVE)  # best so far: 0.2 (min) or 0.9 (max)
    top = study.best()
    assert top is not None and top.value is not None
    assert study.is_best([better])
    assert not study.is_best([worse])
    assert not study.is_best([top.value])  # a tie is not better
    assert not study.is_best([math.nan]) and not study.is_best([])


def test_is_best_of_the_first_finite_value_and_on_the_first_objective_only() -> None:
    empty = snapshot(("minimize",), other(0, FAILED, "x"))
    assert empty.is_best([123.0]) and not empty.is_best([math.inf])
    study = snapshot(("minimize", "maximize"), done(0, 0.5, 9.0))
    assert study.is_best([0.4, 0.0]) and not study.is_best([0.6, 99.0])


# ---- counts, failure reasons -------------------------------------------------------------------


def test_counts_every_state_including_the_empty_ones() -> None:
    study = snapshot(
        ("minimize",),
        done(0, 1.0),
        other(1, FAILED, "x"),
        done(2, 2.0),
        other(3, PRUNED),
        other(4, FAILED, "y"),
        other(5, RUNNING),
        other(6, FAILED, "z"),
    )
    assert study.counts() == {"complete": 2, "pruned": 1, "failed": 3, "running": 1, "waiting": 0}


def test_failure_reasons_count_kinds_that_differ_only_in_numbers_together() -> None:
    reasons = [
        "diverged: gradient norm 1.7e+06",
        "out_of_memory",
        "diverged: gradient norm 1.1e+08",
        "error: ValueError: bad shape (3, 4)",
        "diverged: gradient norm 2.0e+05",
        "out_of_memory",
        None,
    ]
    trials = [other(i, FAILED, reason) for i, reason in enumerate(reasons)]
    trials.append(other(len(reasons), PRUNED, "pruned at epoch 1"))  # not a failure
    tally = snapshot(("minimize",), *trials).failure_reasons()
    assert list(tally.items()) == [  # most frequent first; equal counts: first seen first
        ("diverged: gradient norm <n>", 3),
        ("out_of_memory", 2),  # one text of its kind, however often: kept as it is
        ("error: ValueError: bad shape (3, 4)", 1),
        ("unknown", 1),
    ]


# ---- elapsed time ------------------------------------------------------------------------------


def timed(
    number: int, status: TrialStatus, start: float | None, end: float | None = None
) -> TrialRecord:
    """A trial started / completed ``start`` / ``end`` seconds after :data:`T0`."""
    return TrialRecord(
        number=number,
        status=status,
        started=None if start is None else T0 + timedelta(seconds=start),
        completed=None if end is None else T0 + timedelta(seconds=end),
    )


def test_elapsed_runs_from_the_first_start_to_the_last_end() -> None:
    study = snapshot(
        ("minimize",),
        timed(0, COMPLETE, 10, 40),
        timed(1, FAILED, 5, 20),
        timed(2, WAITING, None),
    )
    assert study.elapsed_seconds(now=T0 + timedelta(hours=1)) == 35.0  # nothing runs: not now


def test_elapsed_runs_to_now_while_a_trial_runs() -> None:
    now = T0 + timedelta(seconds=100)
    study = snapshot(("minimize",), timed(0, COMPLETE, 0, 30), timed(1, RUNNING, 31))
    assert study.elapsed_seconds(now=now) == 100.0
    assert snapshot(("minimize",), timed(0, RUNNING, 60)).elapsed_seconds(now=now) == 40.0


def test_elapsed_is_zero_before_any_trial_starts() -> None:
    assert snapshot(("minimize",), timed(0, WAITING, None)).elapsed_seconds() == 0.0
    assert snapshot(("minimize",)).elapsed_seconds() == 0.0


# ---- stale trials ------------------------------------------------------------------------------


def dead_owner() -> str:
    """The owner tag a process that has exited (and been reaped) wrote for itself."""
    child = subprocess.Popen(["true"])
    with open(f"/proc/{child.pid}/stat", encoding="ascii") as stat:  # not reaped yet: readable
        started = stat.read().rsplit(")", 1)[1].split()[19]
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:{started}"


NOW = T0 + timedelta(hours=1)
YOUNG = NOW - timedelta(seconds=OWNER_GRACE_S / 2)
OLD = NOW - timedelta(seconds=OWNER_GRACE_S + 1)


@pytest.mark.parametrize(
    ("status", "owner", "started", "stale"),
    [
        (RUNNING, "dead", OLD, True),
        (RUNNING, "dead", YOUNG, True),  # a dead owner needs no grace
        (RUNNING, None, YOUNG, False),  # being started: its owner is not written yet
        (RUNNING, None, OLD, True),  # orphaned before it recorded an owner
        (RUNNING, "live", OLD, False),
        (COMPLETE, "dead", OLD, False),  # finished trials are never stale
        (FAILED, None, OLD, False),
    ],
    ids=[
        "dead-owner",
        "dead-owner-young",
        "no-owner-young",
        "no-owner-old",
        "live-owner",
        "finished-dead-owner",
        "finished-no-owner",
    ],
)
def test_stale_trials_are_running_ones_whose_process_is_gone(
    status: TrialStatus, owner: str | None, started: datetime, stale: bool
) -> None:
    tag = {"dead": dead_owner(), "live": owner_tag(), None: None}[owner]
    if tag is not None:
        assert owner_alive(tag) is (owner == "live")  # the premise: the tag names what it says
    trial = TrialRecord(number=0, status=status, owner=tag, started=started)
    assert numbers(snapshot(("minimize",), trial).stale(now=NOW)) == ([0] if stale else [])


# ---- to_json -----------------------------------------------------------------------------------

JSON_KEYS = ["study", "trial", "state", "params", "sampled", "metrics", "seed", "checkpoint"]


@pytest.mark.parametrize(("values", "key"), [((0.5,), "value"), ((0.5, 9.0), "values")])
def test_to_json_is_the_trial_object_best_prints(values: tuple[float, ...], key: str) -> None:
    record = dataclasses.replace(done(3, *values), params={"lr": 0.01}, seed=7).to_json("s")
    assert sorted(record) == sorted([*JSON_KEYS, key, "mlflow_run_id"])
    assert record[key] == (values[0] if key == "value" else list(values))
    assert (record["study"], record["trial"], record["state"]) == ("s", 3, "complete")
    assert (record["params"], record["seed"]) == ({"lr": 0.01}, 7)


# ---- a round trip through the journal storage --------------------------------------------------

SPACE = {
    "cell": CategoricalDistribution(["gru", "lstm"]),
    "hidden_size": IntDistribution(8, 16),
    "lr": FloatDistribution(3e-3, 3e-2, log=True),
}
HISTORY = [
    {"train_loss": 1.23456789, "val_loss": 1.0, "val_metric": 0.9, "lr": 0.01},
    {"train_loss": 0.5, "val_loss": math.nan, "val_metric": 0.6, "lr": 0.01},
]
CURVES = {"train_loss": [1.234568, 0.5], "val_loss": [1.0, None], "val_metric": [0.9, 0.6]}


def run_one(ledger: Ledger, result: TrialResult, state: OptunaState) -> optuna.Trial:
    """A trial as a backend runs it: asked, started, reported, recorded, told."""
    trial = ledger.study.ask(SPACE)
    handle = ledger.handle(trial.number)
    handle.start(owner_tag(), seed=1000 + trial.number)
    handle.set_run_id(f"run-{trial.number}")
    for epoch, metrics in enumerate(result.history):
        trial.report(metrics["val_metric"], epoch)
    result.params = {**trial.params, "num_layers": 1, "tbptt_steps": None}
    handle.record(result)
    ledger.study.tell(trial, result.values, state=state)
    return trial


def test_a_trial_round_trips_every_field_through_the_journal_storage(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "roundtrip", ["minimize"])
    checkpoint = str(tmp_path / "checkpoints" / "roundtrip" / "trial-0.pt")
    complete = TrialResult(
        TrialState.COMPLETE,
        values=[0.6],
        metrics={"val_mae": 0.6, "test_mae": 0.7, "epochs": 2.0, "latency_ms": math.nan},
        history=HISTORY,
        checkpoint=checkpoint,
    )
    pruned = TrialResult(
        TrialState.PRUNED, reason="pruned at epoch 1", metrics={"epochs": 2.0}, history=HISTORY
    )
    first = run_one(ledger, complete, OptunaState.COMPLETE)
    second = run_one(ledger, pruned, OptunaState.PRUNED)

    study = Ledger.open(tmp_path, "roundtrip").snapshot()  # a fresh read of the file
    assert (study.info.name, study.info.directions) == ("roundtrip", ("minimize",))
    assert len(study.trials) == 2
    for record in study.trials:
        assert record.started is not None and record.completed is not None
        assert record.started <= record.completed
    common = {"distributions": SPACE, "curves": CURVES, "owner": owner_tag()}
    assert dataclasses.replace(study.trials[0], started=None, completed=None) == TrialRecord(
        number=0,
        status=COMPLETE,
        values=(0.6,),
        params={**first.params, "num_layers": 1, "tbptt_steps": None},
        sampled=first.params,
        metrics={"val_mae": 0.6, "test_mae": 0.7, "epochs": 2.0},  # the NaN is not kept
        intermediate={0: 0.9, 1: 0.6},
        seed=1000,
        checkpoint=checkpoint,
        mlflow_run_id="run-0",
        **common,
    )
    assert dataclasses.replace(study.trials[1], started=None, completed=None) == TrialRecord(
        number=1,
        status=PRUNED,
        values=None,
        params={**second.params, "num_layers": 1, "tbptt_steps": None},
        sampled=second.params,
        metrics={"epochs": 2.0},
        intermediate={0: 0.9, 1: 0.6},
        reason="pruned at epoch 1",
        seed=1001,
        mlflow_run_id="run-1",
        **common,
    )


def test_interrupted_and_first_trials_round_trip_as_queued_trials(tmp_path: Path) -> None:
    ledger = Ledger.create(tmp_path, "queued", ["minimize"])
    ledger.enqueue_first_trials([{"cell": "lstm", "hidden_size": 13}])
    trial = ledger.study.ask(SPACE)  # takes the queued first trial
    ledger.handle(trial.number).start(owner_tag(), seed=5)
    ledger.handle(trial.number).interrupted(trial.params)
    ledger.study.tell(trial, state=OptunaState.FAIL)

    cut, retry = Ledger.open(tmp_path, "queued").snapshot().trials
    assert cut.first_trial and (cut.sampled["cell"], cut.sampled["hidden_size"]) == ("lstm", 13)
    assert (cut.status, cut.reason, cut.seed) == (FAILED, INTERRUPTED, 5)
    assert (retry.status, retry.retry_of, retry.first_trial) == (WAITING, 0, False)
    assert retry.started is None and retry.owner is None


@pytest.mark.parametrize(
    ("age", "stale"),
    [(5.0, False), (HEARTBEAT_GRACE_S - 1, False), (HEARTBEAT_GRACE_S + 1, True)],
    ids=["fresh", "within-grace", "silent"],
)
def test_a_trial_whose_heartbeat_went_silent_is_stale_whatever_its_owner(
    age: float, stale: bool
) -> None:
    """Shared databases: a machine notes each of its trials alive every few seconds; one not
    noted for longer than the grace is stale even though its owner tag (a pid on another
    machine) cannot be checked from here (the live owner below would say alive)."""
    trial = TrialRecord(
        number=7, status=RUNNING, owner=owner_tag(), started=OLD,
        heartbeat=NOW.timestamp() - age,
    )  # fmt: skip
    assert numbers(snapshot(("minimize",), trial).stale(now=NOW)) == ([7] if stale else [])


# ---- what best --json prints -------------------------------------------------------------------


def test_a_trial_prints_every_field_best_json_shows() -> None:
    one = TrialRecord(
        number=3, status=COMPLETE, values=(0.25,), params={"lr": 0.01, "cell": "gru"},
        sampled={"lr": 0.01}, metrics={"test_mae": 1.5}, seed=42, checkpoint="ckpt/3.pt",
        mlflow_run_id="abc123",
    )  # fmt: skip
    assert one.to_json("s") == {
        "study": "s", "trial": 3, "state": "complete", "value": 0.25,
        "params": {"lr": 0.01, "cell": "gru"}, "sampled": {"lr": 0.01},
        "metrics": {"test_mae": 1.5}, "seed": 42, "checkpoint": "ckpt/3.pt",
        "mlflow_run_id": "abc123",
    }  # fmt: skip
    two = dataclasses.replace(one, values=(0.25, 1200.0))
    printed = two.to_json("s")
    assert printed["values"] == [0.25, 1200.0] and "value" not in printed


def test_a_kind_seen_with_two_texts_counts_as_one_kind() -> None:
    trials = [
        other(0, FAILED, "diverged: gradient norm 1.7e+06"),
        other(1, FAILED, "diverged: gradient norm 2.0e+05"),
    ]
    tally = snapshot(("minimize",), *trials).failure_reasons()
    assert tally == {"diverged: gradient norm <n>": 2}
