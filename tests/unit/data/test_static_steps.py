"""Vector → sequence from a long table (:mod:`automl_rnn.data.static_steps`): each id's static
features to its target at every step, a numeric curve or a class per step; the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.build import build
from automl_rnn.data.contract import PAD_TOKEN
from automl_rnn.data.sequences import SequenceData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, DataError

FLAGS = {"id_col": "id", "time_col": "t", "static_features": "a,b", "per_step": True}


def curves(ids: int = 30, steps: int = 12, seed: int = 0) -> pd.DataFrame:
    """``y = a * sin(b * t)``; ``phase`` is up while the curve rises; rows shuffled."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(ids):
        a, b = rng.uniform(0.5, 2), rng.uniform(0.2, 0.8)
        t = np.arange(steps)
        parts.append(pd.DataFrame({
            "id": f"c{i}", "t": t, "a": round(a, 3), "b": round(b, 3),
            "y": np.round(a * np.sin(b * t), 4), "phase": np.where(np.cos(b * t) > 0, "up", "down"),
        }))  # fmt: skip
    return pd.concat(parts).sample(frac=1.0, random_state=seed)


def read(frame: pd.DataFrame, tmp_path: Path, **flags: object) -> SequenceData:
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    data = build(DataSource.from_args({"data": str(path), **FLAGS, "target": "y", **flags}))
    assert isinstance(data, SequenceData)
    return data


def test_a_numeric_target_is_a_curve_per_id_from_its_static_features(tmp_path: Path) -> None:
    frame = curves()
    data = read(frame, tmp_path)
    assert data.kind == "regression" and data.topologies == ("vec2seq",)
    view = data.views["vec2seq"]
    assert view.x.shape == (30, 2) and view.y.shape == (30, 12, 1)
    train = data.split["train"]
    for k, name in enumerate(data.ids):
        rows = frame[frame["id"] == name].sort_values("t")
        assert np.allclose(view.y[k, :, 0], rows["y"].to_numpy(), atol=1e-6)
        raw = view.x[k] * data.feature_sd + data.feature_mu
        assert np.allclose(raw, rows[["a", "b"]].iloc[0].to_numpy(), atol=1e-5)
    statics = frame.drop_duplicates("id").set_index("id").loc[list(data.ids), ["a", "b"]]
    assert np.allclose(data.feature_mu, statics.to_numpy()[train].mean(axis=0))
    assert data.shape("vec2seq").output_len == 12
    assert data.target_loc == pytest.approx(float(view.y[train].mean()), rel=1e-6)


def test_a_class_target_is_a_class_per_step_ending_with_padding(tmp_path: Path) -> None:
    frame = curves()
    shorter = frame[~((frame["id"] == "c3") & (frame["t"] >= 8))]  # c3 has 8 steps
    data = read(shorter, tmp_path, target="phase")
    assert data.kind == "tokens" and data.vocab == ("<pad>", "down", "up")
    y = data.views["vec2seq"].y
    k = data.ids.index("c3")
    assert np.all(y[k, 8:] == PAD_TOKEN) and np.all(y[k, :8] > 0)
    labels = shorter[shorter["id"] == "c3"].sort_values("t")["phase"].tolist()
    assert [data.vocab[i] for i in y[k, :8]] == labels


def test_loaders_give_vectors_in_and_sequences_out(tmp_path: Path) -> None:
    data = read(curves(), tmp_path)
    batch = next(iter(data.loaders("vec2seq", None, 8).train))
    assert batch["x"].shape == (8, 2) and batch["y"].shape == (8, 12, 1)
    assert "loc" in batch and "scale" in batch  # the curve trains standardized


def refused(frame: pd.DataFrame, tmp_path: Path, **flags: object) -> str:
    with pytest.raises(DataError) as err:
        read(frame, tmp_path, **flags)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_a_static_feature_that_changes_within_an_id_is_refused(tmp_path: Path) -> None:
    frame = curves().sort_values(["id", "t"]).reset_index(drop=True)
    frame.loc[5, "a"] = 9.0  # id c0, its 6th step
    message = refused(frame, tmp_path)
    assert "static feature 'a' changes within id 'c0' at line 7" in message


def test_curves_of_different_lengths_are_refused(tmp_path: Path) -> None:
    frame = curves()
    frame = frame[~((frame["id"] == "c4") & (frame["t"] >= 10))]
    message = refused(frame, tmp_path)
    assert "id 'c4' has 10 steps, others 12" in message


def test_a_target_of_one_value_and_too_few_ids_are_refused(tmp_path: Path) -> None:
    assert "is 'up' at every step" in refused(curves().assign(phase="up"), tmp_path, target="phase")
    assert "too few" in refused(curves(ids=10), tmp_path)


def test_static_features_need_per_step_and_no_step_features() -> None:
    with pytest.raises(ConfigError, match="--static-features go with many series"):
        DataSource.from_args(
            {"data": "c.csv", "id_col": "id", "static_features": "a", "features": "x",
             "target": "y", "per_step": True}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="not --kind forecast"):
        DataSource.from_args({"data": "c.csv", **FLAGS, "target": "y", "kind": "forecast"})
