"""Labelled sequences from a long table (``--id-col``): grouping, order, padding, the split by
id, scaling from training sequences only, the kind of target, and the runtime's reading of the
same table at prediction time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data.contract import IGNORE_INDEX, PAD_TOKEN
from automl_rnn.data.sequences import SequenceColumns, SequenceData, read_sequences
from automl_rnn.errors import DataError
from automl_rnn.export import runtime

COLUMNS = SequenceColumns("rec", ("a", "b"), "label", "t")


def long_frame(ids: int = 30, seed: int = 0, labels: str = "abc") -> pd.DataFrame:
    """``ids`` recordings of 4..12 steps (two features), labels cycling through ``labels``."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(ids):
        n = int(rng.integers(4, 13))
        parts.append(
            pd.DataFrame(
                {
                    "rec": f"r{i:02d}",
                    "t": np.arange(n) * 10,
                    "a": rng.normal(i, 1.0, n).round(4),
                    "b": rng.normal(-i, 2.0, n).round(4),
                    "label": labels[i % len(labels)],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def read(frame: pd.DataFrame, path: Path, columns: SequenceColumns = COLUMNS) -> SequenceData:
    frame.to_csv(path, index=False)
    return read_sequences(path, columns)


def raw_steps(data: SequenceData, k: int) -> np.ndarray:
    """Sequence ``k``'s steps back in the file's units."""
    view = data.views["seq2vec"]
    assert view.lengths is not None
    steps = view.x[k, : view.lengths[k]].astype(np.float64)
    return steps * data.feature_sd + data.feature_mu  # type: ignore[no-any-return]


def test_shuffled_rows_make_each_ids_steps_in_time_order(tmp_path: Path) -> None:
    """Rows in any order (ids interleaved, times shuffled) give each id its own rows, sorted by
    the time column, and the same tensors as the tidy file."""
    frame = long_frame()
    tidy = read(frame, tmp_path / "tidy.csv")
    shuffled = read(frame.sample(frac=1.0, random_state=3), tmp_path / "shuffled.csv")
    for k, name in enumerate(shuffled.ids):
        rows = frame[frame["rec"] == name].sort_values("t")
        assert np.allclose(raw_steps(shuffled, k), rows[["a", "b"]].to_numpy(), atol=1e-4)
    order = [shuffled.ids.index(name) for name in tidy.ids]
    assert np.array_equal(
        shuffled.views["seq2vec"].lengths[order], tidy.views["seq2vec"].lengths
    )  # fmt: skip


def test_without_a_time_column_steps_keep_the_files_order_within_each_id(tmp_path: Path) -> None:
    frame = long_frame().iloc[::-1]  # each id's steps backwards in the file
    data = read(frame, tmp_path / "d.csv", SequenceColumns("rec", ("a", "b"), "label"))
    first = data.ids[0]
    expected = frame[frame["rec"] == first][["a", "b"]].to_numpy()
    assert np.allclose(raw_steps(data, 0), expected, atol=1e-4)


def test_lengths_are_kept_and_padding_is_zero(tmp_path: Path) -> None:
    frame = long_frame()
    data = read(frame, tmp_path / "d.csv")
    view = data.views["seq2vec"]
    assert view.lengths is not None
    counts = frame.groupby("rec").size()
    assert view.lengths.tolist() == [int(counts[name]) for name in data.ids]
    assert view.x.shape[1] == counts.max()
    for k, length in enumerate(view.lengths):
        assert not view.x[k, length:].any()
    assert data.shape("seq2vec").variable_length


def test_the_split_is_by_id_stratified_and_seeded(tmp_path: Path) -> None:
    data = read(long_frame(ids=60), tmp_path / "d.csv")
    y = data.views["seq2vec"].y
    parts = [set(data.split[p].tolist()) for p in ("train", "val", "test")]
    assert set().union(*parts) == set(range(60)) and sum(map(len, parts)) == 60
    for part in ("val", "test"):
        assert np.bincount(y[data.split[part]], minlength=3).tolist() == [3, 3, 3]
    again = read(long_frame(ids=60), tmp_path / "again.csv")
    assert all(np.array_equal(data.split[p], again.split[p]) for p in data.split)
    other = read_sequences(tmp_path / "d.csv", COLUMNS, seed=1)
    assert not np.array_equal(data.split["val"], other.split["val"])


def test_scaling_statistics_come_from_the_training_sequences_only(tmp_path: Path) -> None:
    """Poisoning the validation and test sequences' features changes no training input."""
    frame = long_frame()
    clean = read(frame, tmp_path / "clean.csv")
    held_out = {clean.ids[k] for p in ("val", "test") for k in clean.split[p]}
    poisoned = frame.copy()
    rows = poisoned["rec"].isin(held_out)
    poisoned.loc[rows, ["a", "b"]] = poisoned.loc[rows, ["a", "b"]] * 1000 + 5000
    dirty = read(poisoned, tmp_path / "dirty.csv")
    train = clean.split["train"]
    assert np.array_equal(dirty.split["train"], train)
    assert np.array_equal(dirty.views["seq2vec"].x[train], clean.views["seq2vec"].x[train])
    assert np.allclose(dirty.feature_mu, clean.feature_mu)


@pytest.mark.parametrize(
    ("labels", "kind"),
    [
        (["x", "y"], "classification"),
        ([1, 2, 3], "classification"),
        ([0.5, 1.7, 2.25], "regression"),
    ],
)
def test_the_kind_follows_the_targets_values(
    tmp_path: Path, labels: list[object], kind: str
) -> None:
    frame = long_frame()
    frame["label"] = [labels[int(r[1:]) % len(labels)] for r in frame["rec"]]
    assert read(frame, tmp_path / "d.csv").kind == kind


def test_many_distinct_integers_are_a_regression_and_kind_overrides(tmp_path: Path) -> None:
    frame = long_frame()
    frame["label"] = [int(r[1:]) * 7 for r in frame["rec"]]  # 30 distinct integers
    assert read(frame, tmp_path / "d.csv").kind == "regression"
    frame["label"] = [int(r[1:]) % 3 for r in frame["rec"]]
    forced = SequenceColumns("rec", ("a", "b"), "label", "t", "regression")
    assert read(frame, tmp_path / "e.csv", forced).kind == "regression"


def test_a_regression_target_trains_standardized_and_scores_in_its_units(tmp_path: Path) -> None:
    frame = long_frame()
    frame["label"] = [1000.0 + 37.5 * int(r[1:]) for r in frame["rec"]]
    data = read(frame, tmp_path / "d.csv")
    train_y = data.views["seq2vec"].y[data.split["train"]]
    assert data.target_loc == pytest.approx(float(train_y.mean()), rel=1e-6)
    batch = next(iter(data.loaders("seq2vec", None, batch_size=64).val))
    assert abs(float(batch["y"].mean())) < 3  # standardized, not ~1000
    original = batch["y"] * batch["scale"] + batch["loc"]
    expected = data.views["seq2vec"].y[data.split["val"]]
    assert np.allclose(original.numpy(), expected, atol=1e-3)
    assert data.score("val", expected)["val_mae"] == pytest.approx(0.0, abs=1e-6)


def test_the_runtime_reads_a_shuffled_table_into_the_training_tensors(tmp_path: Path) -> None:
    """What ``predict`` builds from a long table (any row order) equals the training input."""
    frame = long_frame()
    data = read(frame, tmp_path / "d.csv")
    spec = {
        "type": "long", "id_col": "rec", "time_col": "t", "columns": ["a", "b"],
        "mu": data.feature_mu.tolist(), "sd": data.feature_sd.tolist(),
    }  # fmt: skip
    shuffled = frame.drop(columns="label").sample(frac=1.0, random_state=5)
    sequences = runtime.long_sequences(spec, shuffled, "new.csv", "row")
    ids, steps = sequences.ids, sequences.steps
    view = data.views["seq2vec"]
    assert sorted(ids) == sorted(data.ids)
    for name, x in zip(ids, steps):
        k = data.ids.index(name)
        assert np.allclose(x, view.x[k, : view.lengths[k]], atol=1e-5)  # type: ignore[index]
    twice = pd.concat([shuffled, shuffled.head(1)])
    with pytest.raises(runtime.BundleError, match="has the same 't' twice"):
        runtime.long_sequences(spec, twice, "new.csv", "row")


def test_the_typed_read_and_the_exact_read_give_the_same_sequences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files are read typed (Arrow's CSV reader); what the search sees is what the exact,
    line-counting read gives."""
    from automl_rnn.data import long_table

    frame = long_frame().sample(frac=1.0, random_state=2)
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert long_table.read_typed(tmp_path / "d.csv", ("rec", "label"), ("a", "b"), "t") is not None
    typed = read_sequences(tmp_path / "d.csv", COLUMNS)
    monkeypatch.setattr(long_table, "read_typed", lambda *args: None)
    exact = read_sequences(tmp_path / "d.csv", COLUMNS)
    assert typed.ids == exact.ids and typed.classes == exact.classes
    assert typed.fingerprint == exact.fingerprint  # tensors, targets and split
    assert np.array_equal(typed.views["seq2vec"].lengths, exact.views["seq2vec"].lengths)  # type: ignore[arg-type]


def test_a_problem_found_on_the_typed_read_is_refused_with_the_exact_line(tmp_path: Path) -> None:
    frame = long_frame()
    frame.loc[17, "label"] = "zz"  # a label change inside an id, at file line 19
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="changes within one id at line 19"):
        read_sequences(tmp_path / "d.csv", COLUMNS)


def test_a_parquet_file_gives_the_same_sequences_as_the_csv(tmp_path: Path) -> None:
    frame = long_frame().sample(frac=1.0, random_state=4)
    from_csv = read(frame, tmp_path / "d.csv")
    frame.to_parquet(tmp_path / "d.parquet")
    from_parquet = read_sequences(tmp_path / "d.parquet", COLUMNS)
    assert from_parquet.ids == from_csv.ids and from_parquet.classes == from_csv.classes
    assert from_parquet.fingerprint == from_csv.fingerprint


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not_parquet", "is not a Parquet file"),
        ("text_feature", "column 'b' is stored as"),
        ("missing_column", "no column 'a'"),
        ("label_changes", "changes within one id at row 6"),
    ],
)
def test_parquet_refusals_name_the_file_column_and_row(
    tmp_path: Path, case: str, expected: str
) -> None:
    frame, path = long_frame(), tmp_path / "d.parquet"
    if case == "not_parquet":
        path.write_text(frame.to_csv(index=False))
    else:
        if case == "text_feature":
            frame["b"] = frame["b"].astype(str)
        elif case == "missing_column":
            frame = frame.drop(columns="a")
        else:
            frame.loc[5, "label"] = "zz"  # row 6 counted from 1, inside r00 (4+ steps)
        frame.to_parquet(path)
    with pytest.raises(DataError, match=expected) as refused:
        read_sequences(path, COLUMNS)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


# ---- per-step targets (--per-step): a class at every step ------------------------------------

PER_STEP = SequenceColumns("rec", ("a", "b"), "state", "t", per_step=True)


def step_frame() -> pd.DataFrame:
    """``long_frame`` with a per-step ``state``: 'low' before each recording's middle, 'high'
    from it (so the label changes within every id)."""
    frame = long_frame()
    middle = frame.groupby("rec")["t"].transform("max") / 2
    frame["state"] = np.where(frame["t"] < middle, "low", "high")
    return frame


def test_per_step_targets_follow_each_ids_steps_in_time_order(tmp_path: Path) -> None:
    frame = step_frame()
    data = read(frame.sample(frac=1.0, random_state=6), tmp_path / "d.csv", PER_STEP)
    assert (data.kind, data.topologies) == ("tokens", ("seq2seq",))
    assert data.vocab == ("<pad>", "high", "low")
    view = data.views["seq2seq"]
    assert view.lengths is not None
    for k, name in enumerate(data.ids):
        states = frame[frame["rec"] == name].sort_values("t")["state"].tolist()
        length = int(view.lengths[k])
        assert [data.vocab[i] for i in view.y[k, :length]] == states
        assert (view.y[k, length:] == IGNORE_INDEX).all()


def test_per_step_batches_cut_targets_with_inputs_and_scores_pad_predictions(
    tmp_path: Path,
) -> None:
    data = read(step_frame(), tmp_path / "d.csv", PER_STEP)
    widths = set()
    for batch in data.loaders("seq2seq", None, batch_size=1).test:  # each its own length
        assert batch["y"].shape[1] == batch["x"].shape[1] == int(batch["lengths"].max())
        widths.add(batch["y"].shape[1])
    assert len(widths) > 1
    view, rows = data.views["seq2seq"], data.split["test"]
    truth = np.where(view.y[rows] < 0, PAD_TOKEN, view.y[rows])
    narrower = truth[:, : int(view.lengths[rows].max())]  # type: ignore[index]
    scores = data.score("test", narrower)
    assert scores["test_char_accuracy"] == 1.0 and scores["test_exact"] == 1.0
    wrong = np.where(narrower == 1, 2, np.where(narrower == 2, 1, narrower))
    assert data.score("test", wrong)["test_char_accuracy"] == 0.0


def test_a_label_changing_within_an_id_says_to_give_per_step(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="give --per-step if the target labels each step"):
        read(step_frame(), tmp_path / "d.csv", SequenceColumns("rec", ("a", "b"), "state", "t"))


def test_spaces_around_values_read_as_the_exact_reader_reads_them(tmp_path: Path) -> None:
    """A file written with spaces after its commas: the typed read would keep them in the ids
    and labels, so it steps aside; the sequences are the tidy file's."""
    frame = long_frame()
    tidy = read(frame, tmp_path / "tidy.csv")
    (tmp_path / "spaced").mkdir()
    header, body = frame.to_csv(index=False).split("\n", 1)  # a clean header, spaced values
    (tmp_path / "spaced" / "tidy.csv").write_text(header + "\n" + body.replace(",", ", "))
    spaced = read_sequences(tmp_path / "spaced" / "tidy.csv", COLUMNS)  # the same name
    assert spaced.ids == tidy.ids and spaced.classes == tidy.classes
    assert spaced.fingerprint == tidy.fingerprint


def level_frame(ids: int = 30, seed: int = 1) -> pd.DataFrame:
    """``level`` at every step: the running sum of ``a`` (a value per step), rows shuffled."""
    frame = long_frame(ids, seed)
    frame["level"] = frame.groupby("rec")["a"].cumsum().round(4)
    return frame.sample(frac=1.0, random_state=seed)


STEP_VALUES = SequenceColumns("rec", ("a", "b"), "level", "t", per_step=True)


def test_a_numeric_per_step_target_is_a_value_at_every_step(tmp_path: Path) -> None:
    """Per-step regression: ``y [N, T, 1]`` in time order; the target's scaling from the
    training sequences' real steps only (padding is not a value); a seq2seq regression shape
    whose every step is scored."""
    frame = level_frame()
    data = read(frame, tmp_path / "l.csv", STEP_VALUES)
    assert data.kind == "regression" and data.topologies == ("seq2seq",) and data.step_values
    view = data.views["seq2seq"]
    assert view.lengths is not None
    for k, name in enumerate(data.ids):
        expected = frame[frame["rec"] == name].sort_values("t")["level"].to_numpy()
        assert np.allclose(view.y[k, : view.lengths[k], 0], expected, atol=1e-6)
    train_ids = [data.ids[k] for k in data.split["train"]]
    train_levels = frame[frame["rec"].isin(train_ids)]["level"]
    assert data.target_loc == pytest.approx(float(train_levels.mean()), rel=1e-5)
    assert data.target_scale == pytest.approx(float(train_levels.std(ddof=0)), rel=1e-5)
    shape = data.shape("seq2seq")
    assert shape.per_step_target and shape.variable_length and shape.output_len == 1


def test_per_step_values_score_the_real_steps_only(tmp_path: Path) -> None:
    """Perfect values at the real steps and anything at the padding (or predictions cut to a
    batch's longest) score 0; one step wrong by 10 adds 10 / (real steps) to the MAE."""
    data = read(level_frame(), tmp_path / "l.csv", STEP_VALUES)
    view = data.views["seq2seq"]
    rows = data.split["test"]
    y = view.y[rows].astype(np.float64)
    padded = np.where(data.valid_steps("test")[..., None], y, 1e6)
    assert data.score("test", padded)["test_mae"] == 0.0
    longest = int(view.lengths[rows].max())  # type: ignore[index]
    assert data.score("test", y[:, :longest])["test_mae"] == 0.0  # cut to the split's longest
    wrong = y.copy()
    wrong[0, 0, 0] += 10.0
    real = int(view.lengths[rows].sum())  # type: ignore[index]
    assert data.score("test", wrong)["test_mae"] == pytest.approx(10.0 / real)
    batch = next(iter(data.loaders("seq2seq", None, 4).val))
    assert batch["y"].shape[1] == batch["x"].shape[1] == int(batch["lengths"].max())


def test_ids_and_labels_keep_their_text_in_the_fast_read(tmp_path: Path) -> None:
    """Ids '12' and '012' are two sequences and a label '01' stays '01': pandas' category read
    (the fast path for large files) inferred numbers and merged them."""
    rows = []
    for i in range(20):
        for name in (str(i + 1), f"0{i + 1}"):  # '1' and '01', ..., '20' and '020'
            for t in range(4):
                label = "01" if name.startswith("0") else "02"
                rows.append({"id": name, "t": t, "x": (i + t) % 5 / 5, "label": label})
    frame = pd.DataFrame(rows).astype({"id": str, "label": str})
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    from automl_rnn.data.csvread import read_typed

    typed = read_typed(path, ("id", "label"), ("x",), "t")
    assert typed is not None
    assert typed.frame["id"].tolist() == frame["id"].tolist()
    assert typed.frame["label"].tolist() == frame["label"].tolist()
    data = read_sequences(path, SequenceColumns("id", ("x",), "label", "t"))
    assert len(data.ids) == 40 and "012" in data.ids and "12" in data.ids
    assert data.classes == ("01", "02")
