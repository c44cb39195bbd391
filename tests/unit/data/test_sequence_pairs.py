"""Numeric pairs from a long table (:mod:`automl_rnn.data.sequence_pairs`): each id's input steps
to its output steps (marked by ``--output-steps-col``), the encoder-decoder shape on numbers;
what is read where, the split's leakage, and the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.build import build
from automl_rnn.data.sequences import SequenceData
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, DataError

FLAGS = {
    "id_col": "id",
    "time_col": "t",
    "features": "load,temp",
    "target": "load",
    "output_steps_col": "is_output",
}
OUTPUTS = 6


def pairs(ids: int = 30, outputs: int = OUTPUTS, seed: int = 0, vary: bool = False) -> pd.DataFrame:
    """``load = a * sin(b * t + c)``: 8-16 input steps (``load`` and ``temp = cos(b * t)``), then
    ``outputs`` steps of ``load`` to answer (``vary``: 2 to ``outputs``; ``temp`` empty there);
    rows shuffled."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(ids):
        a, b, c = rng.uniform(0.5, 2), rng.uniform(0.3, 0.9), rng.uniform(0, 3)
        inputs = int(rng.integers(8, 17))
        answers = int(rng.integers(2, outputs + 1)) if vary else outputs
        t = np.arange(inputs + answers)
        mark = np.r_[np.zeros(inputs, dtype=int), np.ones(answers, dtype=int)]
        parts.append(pd.DataFrame({
            "id": f"p{i}", "t": t, "is_output": mark, "load": np.round(a * np.sin(b * t + c), 4),
            "temp": np.where(mark == 0, np.round(np.cos(b * t), 4), np.nan),
        }))  # fmt: skip
    return pd.concat(parts).sample(frac=1.0, random_state=seed)


def read(frame: pd.DataFrame, tmp_path: Path, name: str = "p.csv", **flags: object) -> SequenceData:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    data = build(DataSource.from_args({"data": str(path), **FLAGS, **flags}))
    assert isinstance(data, SequenceData)
    return data


def test_each_id_is_its_input_steps_then_its_output_steps(tmp_path: Path) -> None:
    frame = pairs()
    data = read(frame, tmp_path)
    assert data.kind == "regression" and data.topologies == ("encoder_decoder",)
    view = data.views["encoder_decoder"]
    assert view.lengths is not None and view.y.shape == (30, OUTPUTS, 1)
    shape = data.shape("encoder_decoder")
    assert (shape.input_size, shape.output_len, shape.output_size) == (2, OUTPUTS, 1)
    for k, name in enumerate(data.ids):
        rows = frame[frame["id"] == name].sort_values("t")
        given = rows[rows["is_output"] == 0]
        assert view.lengths[k] == len(given)
        raw = view.x[k, : len(given)] * data.feature_sd + data.feature_mu
        assert np.allclose(raw, given[["load", "temp"]].to_numpy(), atol=1e-5)
        assert not view.x[k, len(given) :].any()  # padding past the inputs
        answers = rows[rows["is_output"] == 1]["load"].to_numpy()
        assert np.allclose(view.y[k, :, 0], answers, atol=1e-6)
    summary = data.summary()
    assert summary["output_steps"] == OUTPUTS and summary["lengths"]["min"] >= 8


def test_output_steps_features_are_never_read(tmp_path: Path) -> None:
    """The target's own column is a feature: its values on output steps (the answers) must not
    reach the inputs, nor may anything else written on an output step."""
    frame = pairs()
    clean = read(frame, tmp_path, "clean.csv")
    poisoned = frame.copy()
    on_output = poisoned["is_output"] == 1
    poisoned.loc[on_output, "temp"] = 1e6
    shifted = read(poisoned, tmp_path, "poisoned.csv")
    assert np.array_equal(clean.views["encoder_decoder"].x, shifted.views["encoder_decoder"].x)
    assert np.array_equal(clean.feature_mu, shifted.feature_mu)


def test_scaling_comes_from_the_training_ids_only(tmp_path: Path) -> None:
    """A poisoned validation or test id (its inputs and answers x1000 + 5000) changes neither
    the scaling nor any training batch."""
    frame = pairs()
    clean = read(frame, tmp_path, "clean.csv")
    held = [clean.ids[k] for k in (*clean.split["val"], *clean.split["test"])]
    poisoned = frame.copy()
    rows = poisoned["id"].isin(held)
    poisoned.loc[rows, ["load", "temp"]] = poisoned.loc[rows, ["load", "temp"]] * 1000 + 5000
    shifted = read(poisoned, tmp_path, "poisoned.csv")
    assert np.array_equal(clean.split["train"], shifted.split["train"])
    assert np.allclose(clean.feature_mu, shifted.feature_mu)
    assert clean.target_loc == pytest.approx(shifted.target_loc)
    mine = clean.loaders("encoder_decoder", None, 8, "none", 0).train
    theirs = shifted.loaders("encoder_decoder", None, 8, "none", 0).train
    for a, b in zip(mine, theirs, strict=True):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[key].numpy(), b[key].numpy()) for key in a)


def test_scored_in_the_targets_units_against_the_training_mean_curve(tmp_path: Path) -> None:
    data = read(pairs(), tmp_path)
    y = data.views["encoder_decoder"].y
    test = data.split["test"]
    exact = data.score("test", y[test])
    assert exact["test_mae"] == 0.0
    mean_curve = y[data.split["train"]].mean(axis=0)
    expected = float(np.abs(y[test] - mean_curve).mean())
    assert exact["test_mean_mae"] == pytest.approx(expected, rel=1e-6)


def test_csv_and_parquet_give_the_same_pairs(tmp_path: Path) -> None:
    frame = pairs()
    csv, parquet = read(frame, tmp_path, "p.csv"), read(frame, tmp_path, "p.parquet")
    assert csv.fingerprint == parquet.fingerprint


@pytest.mark.parametrize("marks", [("true", "false"), ("Output", "input"), ("1.0", "0.0")])
def test_output_marks_in_any_usual_spelling(tmp_path: Path, marks: tuple[str, str]) -> None:
    frame = pairs()
    spelled = frame.assign(is_output=np.where(frame["is_output"] == 1, *marks))
    (tmp_path / "plain").mkdir()
    assert read(spelled, tmp_path).fingerprint == read(frame, tmp_path / "plain").fingerprint


def _late_input(frame: pd.DataFrame) -> pd.DataFrame:
    last = frame[(frame["id"] == "p4")]["t"].max()
    return frame.assign(is_output=frame["is_output"].where(
        ~((frame["id"] == "p4") & (frame["t"] == last)), 0
    ))  # fmt: skip


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_late_input, "id 'p4' has an input step at line"),
        (lambda f: f[~((f["id"] == "p2") & (f["is_output"] == 1))], "id 'p2' has no output step"),
        (lambda f: f.assign(is_output=f["is_output"].replace(1, "maybe")), "'maybe' at line"),
        (lambda f: f.assign(temp=f["temp"].where(f["t"] != 0)), "'temp' is empty at line"),
        (lambda f: f.assign(load=f["load"].where(f["t"] < 20)), "an output step; every"),
        (lambda f: f.assign(load=1.5), "is 1.5 at every output step"),
        (lambda f: f[f["id"].isin([f"p{i}" for i in range(10)])], "10 ids in 'id' are too few"),
    ],
    ids=["input-after-output", "no-output", "mark", "feature", "target", "flat", "few"],
)
def test_refusals_name_the_id_or_line(tmp_path: Path, change: object, expected: str) -> None:
    frame = pairs()
    with pytest.raises(DataError, match=r"p\.csv") as refused:
        read(change(frame), tmp_path)  # type: ignore[operator]
    assert expected in str(refused.value)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"per_step": True}, "drop --per-step"),
        ({"horizon": 3}, "drop --horizon"),
        ({"features": None}, "needs --features"),
        ({"output_steps_col": "t"}, "column 't' has two roles"),
        ({"id_col": None}, "give --id-col too"),
    ],
)
def test_flag_clashes_are_refused_before_reading(flags: dict[str, object], expected: str) -> None:
    args = {"data": "nowhere.csv", **FLAGS, **flags}
    with pytest.raises(ConfigError) as refused:
        DataSource.from_args({k: v for k, v in args.items() if v is not None})
    assert expected in str(refused.value)


def test_scored_against_repeating_the_last_input_value_of_the_target(tmp_path: Path) -> None:
    frame = pairs()
    data = read(frame, tmp_path)
    view = data.views["encoder_decoder"]
    test = data.split["test"]
    by_hand = []
    for k in test:
        rows = frame[frame["id"] == data.ids[k]].sort_values("t")
        last = rows[rows["is_output"] == 0]["load"].iloc[-1]
        by_hand.append(np.abs(view.y[k, :, 0] - last).mean())
    scores = data.score("test", view.y[test])
    assert scores["test_last_mae"] == pytest.approx(float(np.mean(by_hand)), rel=1e-5)
    assert "test_last_mae" in data.baselines()
    other = read(frame, tmp_path, "other.csv", features="temp")  # the target is no input
    assert "test_last_mae" not in other.score("test", view.y[test])


def test_the_built_in_pairs_answer_each_months_last_week() -> None:
    data = build(DataSource(task="seattle_weather_week"))
    assert isinstance(data, SequenceData) and data.topologies == ("encoder_decoder",)
    table = pd.read_csv(Path(data.source))
    view = data.views["encoder_decoder"]
    assert view.lengths is not None
    for k in (0, 1, len(data.ids) - 1):
        month = table[table["month"] == data.ids[k]].sort_values("day")
        assert np.allclose(view.y[k, :, 0], month["temp_max"].to_numpy()[-7:], atol=1e-5)
        assert view.lengths[k] == len(month) - 7
        raw = view.x[k, : len(month) - 7, 1] * data.feature_sd[1] + data.feature_mu[1]
        assert np.allclose(raw, month["temp_max"].to_numpy()[:-7], atol=1e-4)


def test_the_target_is_learnt_as_a_change_from_its_last_input_value(tmp_path: Path) -> None:
    """With the target among the features, a network answering zeros repeats each id's last
    input value; the batches still give the true answers back in the target's units."""
    frame = pairs()
    data = read(frame, tmp_path)
    batch = next(iter(data.loaders("encoder_decoder", None, 64, "none", 0).val))
    rows = data.split["val"]
    y = data.views["encoder_decoder"].y[rows]
    last = [
        frame[(frame["id"] == data.ids[k]) & (frame["is_output"] == 0)].sort_values("t")["load"]
        for k in rows
    ]
    assert np.allclose(batch["loc"].numpy()[:, 0, 0], [s.iloc[-1] for s in last], atol=1e-4)
    assert np.allclose((batch["y"] * batch["scale"] + batch["loc"]).numpy(), y, atol=1e-4)
    plain = read(frame, tmp_path, "plain.csv", features="temp")  # no history of the target
    flat = next(iter(plain.loaders("encoder_decoder", None, 64, "none", 0).val))
    assert np.allclose(flat["loc"].numpy(), plain.target_loc)


def test_ids_may_answer_different_numbers_of_output_steps(tmp_path: Path) -> None:
    """Each id answers its own marked steps (2 to 6 here): ``y`` is padded past them, and the
    padding is neither in the target's statistics, nor scored, nor in the mean curve."""
    frame = pairs(vary=True)
    data = read(frame, tmp_path)
    view = data.views["encoder_decoder"]
    marked = frame[frame["is_output"] == 1].groupby("id").size()
    assert view.out_lengths is not None and marked.nunique() > 1
    assert view.out_lengths.tolist() == [int(marked[name]) for name in data.ids]
    assert view.y.shape[1] == marked.max() == data.shape("encoder_decoder").output_len
    answered = np.arange(view.y.shape[1])[None, :] < view.out_lengths[:, None]
    train = data.split["train"]
    real = view.y[train][answered[train]]
    assert data.target_loc == pytest.approx(float(real.mean()), rel=1e-6)
    test = data.split["test"]
    garbage = np.where(answered[test][..., None], view.y[test], 1e6)
    scores = data.score("test", garbage)
    assert scores["test_mae"] == 0.0
    curve = [view.y[train][answered[train][:, j], j, 0].mean() for j in range(view.y.shape[1])]
    errors = np.abs(view.y[test, :, 0] - np.asarray(curve))[answered[test]]
    assert scores["test_mean_mae"] == pytest.approx(float(errors.mean()), rel=1e-6)
    batch = next(iter(data.loaders("encoder_decoder", None, 8, "none", 0).val))
    assert batch["out_lengths"].tolist() == view.out_lengths[data.split["val"][:8]].tolist()
    assert data.summary()["output_lengths"] == {
        "min": 2,
        "median": float(marked.median()),
        "max": 6,
    }
    assert read(pairs(), tmp_path, "same.csv").views["encoder_decoder"].out_lengths is None
