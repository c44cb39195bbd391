"""How a stored Optuna trial reads back as a record (``search/stored.py``): what a worker wrote
as user attributes, with what an older release or a hand-edited study may hold instead. Found
unpinned by mutation testing (the heartbeat, the metric filter, empty texts)."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from automl_rnn.search import stored
from automl_rnn.search.records import TrialStatus


def trial(state: TrialState = TrialState.RUNNING, **attrs: Any) -> optuna.trial.FrozenTrial:
    value = 1.0 if state is TrialState.COMPLETE else None
    return optuna.trial.create_trial(state=state, value=value, user_attrs=attrs)


def test_a_heartbeat_reads_back_as_seconds_and_anything_else_as_none() -> None:
    assert stored.record(trial(heartbeat=1765000000.5)).heartbeat == 1765000000.5
    assert stored.record(trial(heartbeat=1765000000)).heartbeat == 1765000000.0
    assert stored.record(trial(heartbeat="yesterday")).heartbeat is None
    assert stored.record(trial()).heartbeat is None


def test_only_numbers_are_kept_as_metrics() -> None:
    metrics = {"val_mae": 1.5, "epochs": 3, "converged": True, "note": "fine", "none": None}
    record = stored.record(trial(TrialState.COMPLETE, metrics=metrics))
    assert record.metrics == {"val_mae": 1.5, "epochs": 3.0}
    assert record.status is TrialStatus.COMPLETE and record.values == (1.0,)


def test_empty_texts_read_back_as_none_and_others_as_text() -> None:
    record = stored.record(trial(reason="", checkpoint="ckpt/3.pt", owner=""))
    assert record.reason is None and record.owner is None
    assert record.checkpoint == "ckpt/3.pt"
    assert stored.record(trial(reason="pruned at epoch 2")).reason == "pruned at epoch 2"
    assert stored.text(0) == "0"  # a falsy value that is not empty is kept
