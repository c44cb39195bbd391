"""The JSON that ``status`` and ``best`` print (their keys are a public contract), shaped from a
hand-built snapshot."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from automl_rnn.errors import UserError
from automl_rnn.search.records import StudyInfo, StudySnapshot, TrialRecord, TrialStatus
from automl_rnn.search.summary import best, fmt, status

T0 = datetime(2026, 1, 1, 12, 0, 0)


def _trial(
    number: int, status: TrialStatus, value: float | None = None, **kw: object
) -> TrialRecord:
    return TrialRecord(
        number=number,
        status=status,
        values=(value,) if value is not None else None,
        params={"lr": 0.01 * (number + 1)},
        started=T0 + timedelta(seconds=number),
        completed=T0 + timedelta(seconds=number + 1.26),
        **kw,  # type: ignore[arg-type]
    )


SNAPSHOT = StudySnapshot(
    StudyInfo("s", ("minimize",), ("val_mae",), kind="forecast"),
    (
        _trial(0, TrialStatus.COMPLETE, 3.0),
        _trial(1, TrialStatus.COMPLETE, 2.0, metrics={"test_rel_mae": 0.5, "test_mae": 1.0}),
        _trial(2, TrialStatus.FAILED, reason="diverged: non-finite loss"),
    ),
)


def test_status_has_every_documented_key_and_the_best_trial() -> None:
    payload = status(SNAPSHOT)
    assert set(payload) == {
        "study", "counts", "elapsed_seconds", "failure_reasons", "stale_trials", "best"
    }  # fmt: skip
    assert payload["study"] == "s"
    assert payload["counts"] == SNAPSHOT.counts()
    assert payload["failure_reasons"] == SNAPSHOT.failure_reasons() != {}
    assert payload["elapsed_seconds"] == round(SNAPSHOT.elapsed_seconds(), 1) == 3.3
    assert payload["best"] == {"trial": 1, "value": 2.0, "params": {"lr": 0.02}}


def test_status_of_a_study_without_a_completed_trial_has_no_best() -> None:
    failed_only = dataclasses.replace(SNAPSHOT, trials=SNAPSHOT.trials[2:])
    assert status(failed_only)["best"] is None
    with pytest.raises(UserError, match="study 's' has no completed trial yet"):
        best(failed_only)


def test_best_carries_the_baseline_verdict_of_its_metrics() -> None:
    record = best(SNAPSHOT)
    assert record["trial"] == 1
    assert record["baseline"] == {
        "test_mae": 1.0,
        "seasonal_naive_mae": None,
        "test_rel_mae": 0.5,
        "test_mase": None,
        "verdict": "beats seasonal naive",
    }


def test_fmt_keeps_four_significant_digits_and_names_non_finite_values() -> None:
    assert fmt(3.14159) == "3.142"
    assert fmt(float("inf")) == "inf"
    assert fmt(7) == "7"


def test_best_of_two_objectives_lists_the_front_and_its_verdict_uses_the_classical_scores() -> None:
    front = StudySnapshot(
        StudyInfo(
            "m",
            ("minimize", "minimize"),
            ("val_mae", "params"),
            kind="forecast",
            classical={"auto_ets": {"model": "AutoETS", "val_mae": 1.0, "test_mae": 0.5}},
        ),
        (
            TrialRecord(
                number=0, status=TrialStatus.COMPLETE, values=(1.0, 9.0), params={"a": 1},
                metrics={"test_rel_mae": 0.5, "test_mae": 1.0, "test_snaive_mae": 2.0},
            ),
            TrialRecord(number=1, status=TrialStatus.COMPLETE, values=(2.0, 3.0), params={"a": 2}),
        ),
    )  # fmt: skip
    record = best(front)
    assert record["study"] == "m"
    assert record["pareto_front"] == [
        {"trial": 0, "values": [1.0, 9.0], "params": {"a": 1}},
        {"trial": 1, "values": [2.0, 3.0], "params": {"a": 2}},
    ]
    assert record["baseline"]["does_not_beat"] == ["AutoETS"]
    assert status(front)["best"]["values"] == [1.0, 9.0]
