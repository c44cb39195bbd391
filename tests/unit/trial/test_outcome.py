"""A trial's outcome crosses process boundaries as plain JSON and comes back unchanged."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch

from automl_rnn.trial.outcome import (
    Decision,
    LocalCheckpoints,
    NeverPrune,
    TrialResult,
    TrialState,
)

COMPLETE = TrialResult(
    state=TrialState.COMPLETE,
    values=[0.25, 1234.0],
    params={
        "cell": "gru",
        "hidden_size": 8,
        "lr": 0.01,
        "tbptt_steps": None,
        "bidirectional": False,
    },
    metrics={"val_mae": 0.25, "params": 1234.0, "best_epoch": 3.0},
    history=[{"train_loss": 1.5, "val_loss": 1.25}, {"train_loss": 0.75, "val_loss": 0.5}],
    seed=42,
    checkpoint="/tmp/checkpoints/trial-3.pt",
)
FAILED = TrialResult(
    state=TrialState.FAILED,
    reason="error: RuntimeError: boom",
    params={"cell": "lstm"},
    seed=7,
    traceback="Traceback (most recent call last):\n  ...\nRuntimeError: boom\n",
)


def _plain(value: object) -> bool:
    """Only the types ``json`` writes and reads back as themselves."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


@pytest.mark.parametrize("result", [COMPLETE, FAILED], ids=["complete", "failed"])
def test_trial_result_round_trips_through_plain_json(result: TrialResult) -> None:
    data = result.to_dict()
    assert _plain(data)
    assert data["state"] == result.state.value
    back = TrialResult.from_dict(json.loads(json.dumps(data)))
    assert back == result
    assert back.state is result.state


def test_from_dict_fills_missing_optional_keys_with_defaults() -> None:
    assert TrialResult.from_dict({"state": "pruned"}) == TrialResult(state=TrialState.PRUNED)


def test_never_prune_continues_whatever_the_metrics() -> None:
    metrics: Mapping[str, float] = {"val_loss": float("nan")}
    assert NeverPrune().report(0, metrics) is Decision.CONTINUE


def test_local_checkpoints_write_trial_n_pt_loadable_without_unpickling_code(
    tmp_path: Path,
) -> None:
    sink = LocalCheckpoints(tmp_path / "checkpoints" / "study")
    state = {"weight": torch.arange(6.0).reshape(2, 3)}
    where = sink.save_best(4, state)
    assert where == str(tmp_path / "checkpoints" / "study" / "trial-4.pt") == str(sink.path(4))
    loaded = torch.load(where, weights_only=True)
    assert torch.equal(loaded["weight"], state["weight"])
