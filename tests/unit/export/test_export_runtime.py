"""The export runtime on its own (no exported graph): history reading and scaling as training
scaled, forecast timestamps, input encoders and their refusals, manifest checksums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl_rnn.data import prepare
from automl_rnn.data.forecast import SCALE_FLOOR
from automl_rnn.data.generators import dates
from automl_rnn.data.source import DataSource
from automl_rnn.export import codec, runtime
from automl_rnn.export.runtime import BundleError


def series_spec(scaling: str = "window", window: int = 24) -> dict[str, Any]:
    prepared = prepare(DataSource.from_args({"task": "air_passengers"}))
    return {
        "type": "series",
        "time_col": "month",
        "time_kind": "datetime",
        "freq": "MS",
        "step": "31 days",
        "columns": ["passengers"],
        "targets": ["passengers"],
        "window": window,
        "scaling": scaling,
        "mu": [float(prepared.mu[0])],
        "sd": [float(prepared.sd[0])],
        "scale_floor": SCALE_FLOOR,
    }


def history(rows: int = 40) -> pd.DataFrame:
    months = pd.date_range("2000-01-01", periods=rows, freq="MS").strftime("%Y-%m")
    values = 100 + 10 * np.sin(np.arange(rows) / 2) + np.arange(rows)
    return pd.DataFrame({"month": months, "passengers": values})


# ---- forecast inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("scaling", ["window", "global"])
def test_history_is_scaled_exactly_as_training_windows(scaling: str) -> None:
    prepared = prepare(DataSource.from_args({"task": "air_passengers"}))
    spec = series_spec(scaling, window=36)
    expected = prepared.windows("test", 36, scaling)
    frame = codec.history_frame(spec, prepared, int(expected["start"][-1]))
    window = runtime.read_history(spec, frame, "h.csv", "line")
    x, loc, scale = runtime.scale_window(spec, window.values)
    np.testing.assert_allclose(x, expected["x"][-1], atol=1e-6)
    np.testing.assert_allclose(loc, expected["loc"][-1, 0], rtol=1e-6)
    np.testing.assert_allclose(scale, expected["scale"][-1, 0], rtol=1e-6)


def test_history_is_sorted_by_time_and_only_the_window_is_read() -> None:
    frame = history(40)
    frame.loc[0, "passengers"] = np.nan  # outside the last 24 rows: not needed
    shuffled = frame.sample(frac=1.0, random_state=0)
    window = runtime.read_history(series_spec(), shuffled, "h.csv", "line")
    np.testing.assert_allclose(window.values[:, 0], frame["passengers"].to_numpy()[-24:], rtol=1e-6)
    assert str(window.times[-1].date()) == "2003-04-01"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda f: f.head(10), ["h.csv", "10 rows", "input window of 24", "at least the last 24"]),
        (lambda f: f.drop(columns=["passengers"]), ["h.csv", "no column 'passengers'", "month"]),
        (lambda f: f.rename(columns={"month": "date"}), ["no column 'month'"]),
        (
            lambda f: f.assign(passengers=f["passengers"].astype(object).where(f.index != 30, "x")),
            ["column 'passengers'", "'x'", "line 30"],
        ),
        (
            lambda f: f.assign(passengers=f["passengers"].where(f.index != 35)),
            ["column 'passengers' is empty", "line 35", "fill the gap"],
        ),
        (
            lambda f: f.assign(month=f["month"].where(f.index != 39, f["month"][38])),
            ["column 'month'", "repeats time", "line 39"],
        ),
        (
            lambda f: f.assign(month=f["month"].where(f.index != 5, "someday")),
            ["column 'month'", "'someday'", "not a time"],
        ),
    ],
)
def test_bad_history_is_refused_naming_file_column_and_line(change: Any, needle: list[str]) -> None:
    with pytest.raises(BundleError) as caught:
        runtime.read_history(series_spec(), change(history(40)), "h.csv", "line")
    message = str(caught.value)
    assert "\n" not in message
    for text in needle:
        assert text in message, (text, message)


def test_a_history_that_skips_a_step_inside_the_window_is_refused() -> None:
    """A missing month inside the model's last 24 rows would have it read 25 months as 24 and
    date its forecast a month early: refused, naming the two times around the hole and the
    line; a hole before the window changes nothing the model reads."""
    frame = history(40)
    with pytest.raises(BundleError) as refused:
        runtime.read_history(series_spec(), frame.drop(index=30), "h.csv", "line")
    assert str(refused.value) == (
        "h.csv: column 'month' skips from 2002-06-01 to 2002-08-01 at line 31; the model reads "
        "its last 24 rows at the training data's frequency 'MS': add the missing rows (fill "
        "their values)"
    )
    window = runtime.read_history(series_spec(), frame.drop(index=5), "h.csv", "line")
    np.testing.assert_allclose(window.values[:, 0], frame["passengers"].to_numpy()[-24:], rtol=1e-6)
    steps = {**series_spec(window=4), "time_kind": "number", "freq": None, "step": 1.0}
    numbered = pd.DataFrame({"month": [1, 2, 3, 5, 6], "passengers": [1.0, 2, 3, 4, 5]})
    with pytest.raises(BundleError, match=r"skips from 3 to 5 at line 3; .* rows 1 apart"):
        runtime.read_history(steps, numbered, "h.csv", "line")
    irregular = {**series_spec(), "freq": None}  # training saw no regular step: nothing to hold
    assert runtime.read_history(irregular, frame.drop(index=30), "h.csv", "line").values.shape == (
        24,
        1,
    )


def test_a_series_trained_filling_gaps_has_its_history_filled_the_same_way() -> None:
    """Trained with ``--missing interpolate`` (``fill_gap``: the longest run it filled): skipped
    months are inserted and runs of up to that many missing values interpolated linearly between
    their known neighbours (one of them may lie before the window); a longer run is refused."""
    frame = history(40)
    spec = {**series_spec(), "fill_gap": 3}
    holes = frame.drop(index=[30, 31]).assign(  # two months skipped, two values left empty
        passengers=lambda f: f["passengers"].where(~f.index.isin([20, 21]))
    )
    window = runtime.read_history(spec, holes, "h.csv", "line")
    known = frame["passengers"].to_numpy()
    expected = known.copy()
    for a, b in ((19, 22), (29, 32)):
        expected[a + 1 : b] = np.interp(np.arange(a + 1, b), [a, b], [known[a], known[b]])
    np.testing.assert_allclose(window.values[:, 0], expected[-24:], rtol=1e-6)
    assert [str(t.date()) for t in window.times[[0, -1]]] == ["2001-05-01", "2003-04-01"]
    straddling = frame.assign(passengers=frame["passengers"].where(~frame.index.isin([15, 16])))
    window = runtime.read_history(spec, straddling, "h.csv", "line")  # the window starts at 16
    np.testing.assert_allclose(window.values[0, 0], np.interp(16, [14, 17], known[[14, 17]]))
    too_long = frame.drop(index=[25, 26, 27, 28])
    with pytest.raises(BundleError) as refused:
        runtime.read_history(spec, too_long, "h.csv", "line")
    assert str(refused.value) == (
        "h.csv: column 'passengers' misses 4 values in a row from 2002-02-01 to 2002-05-01; the "
        "model was trained filling at most 3: fill them in the file"
    )


def test_the_gap_a_series_was_trained_filling_is_exported() -> None:
    """co2 is trained filling runs of up to 18 missing weeks (its task file), air_passengers up
    to the default 3; a series read with ``--missing error`` filled none, so its history may
    not lack any."""
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.config.hparams import Hyperparams

    for flags, gap in (({"task": "co2"}, 18), ({"task": "air_passengers"}, 3)):
        prepared = prepare(DataSource.from_args(flags))
        pre = codec.describe(ExperimentSpec(**flags), prepared, Hyperparams(seq_len=52))
        assert pre["input"]["fill_gap"] == gap
    prepared = prepare(DataSource.from_args({"task": "air_passengers", "missing": "error"}))
    pre = codec.describe(
        ExperimentSpec(task="air_passengers", missing="error"), prepared, Hyperparams()
    )
    assert pre["input"]["fill_gap"] == 0


def test_history_dates_are_read_in_the_training_datas_day_order() -> None:
    frame = history(30)
    frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%d/%m/%Y")  # 01/02/2000 ...
    spec = {**series_spec(), "dayfirst": True}
    window = runtime.read_history(spec, frame, "h.csv", "line")
    assert str(window.times[-1].date()) == "2002-06-01"  # not month-first's 2002-01-06


def test_forecast_timestamps_follow_the_history_frequency() -> None:
    spec = series_spec()
    monthly = pd.DatetimeIndex(pd.date_range("1960-01-01", periods=12, freq="MS"))
    ahead = runtime.future_times(spec, monthly, 3)
    assert [str(t.date()) for t in ahead] == ["1961-01-01", "1961-02-01", "1961-03-01"]
    weekly = pd.DatetimeIndex(pd.date_range("2001-12-01", periods=8, freq="W-SAT"))
    assert [str(t.date()) for t in runtime.future_times(spec, weekly, 2)] == [
        "2002-01-26",
        "2002-02-02",
    ]
    two = pd.DatetimeIndex(["2001-12-15", "2002-01-15"])  # too short to infer: the trained "MS"
    assert str(runtime.future_times(spec, two, 1)[0].date()) == "2002-02-01"
    numeric = {**spec, "time_kind": "number"}
    np.testing.assert_allclose(runtime.future_times(numeric, np.array([1.0, 3.0, 5.0]), 2), [7, 9])
    assert runtime.future_times(spec, None, 3) is None


def test_forecast_frame_names_steps_times_and_targets() -> None:
    spec = series_spec()
    times = pd.DatetimeIndex(pd.date_range("1960-01-01", periods=12, freq="MS"))
    values = np.array([[1.5], [2.5]], dtype=np.float32)
    frame = runtime.forecast_frame(spec, {"horizon": 2}, times, values)
    assert list(frame.columns) == ["step", "month", "passengers"]
    assert frame["month"].tolist() == ["1961-01-01", "1961-02-01"]
    assert frame["passengers"].tolist() == [1.5, 2.5]


# ---- row inputs ----------------------------------------------------------------------------


def dates_spec() -> dict[str, Any]:
    alphabet = list(dates({"samples": 1, "seed": 0})[1])
    return {
        "type": "chars",
        "column": "text",
        "alphabet": alphabet,
        "unknown": False,
        "one_hot": len(alphabet),
        "length": None,
    }


def test_text_rows_are_grouped_by_length_without_padding() -> None:
    spec = dates_spec()
    frame = pd.DataFrame({"text": ["1 May 2001", "Nov 25, 2026", "2 May 2001"]})
    groups = runtime.encode_rows(spec, frame, "d.csv", "line")
    assert [(g.tolist(), x.shape) for g, x in groups] == [
        ([0, 2], (2, 10, len(spec["alphabet"]))),
        ([1], (1, 12, len(spec["alphabet"]))),
    ]
    x = groups[0][1]
    assert (x.sum(axis=-1) == 1).all()  # one-hot at every step: no padding rows
    first = spec["alphabet"].index("1")
    assert x[0, 0, first] == 1.0


def test_unknown_characters_are_refused_or_mapped_as_trained() -> None:
    spec = dates_spec()
    frame = pd.DataFrame({"text": ["1 May 2001", "1 May 2001!"]}, index=[2, 3])
    with pytest.raises(BundleError, match=r"character '!' at line 3, which the model never saw"):
        runtime.encode_rows(spec, frame, "d.csv", "line")
    lenient = {**spec, "unknown": True, "one_hot": len(spec["alphabet"]) + 1}
    ids = runtime.token_ids(lenient, frame, "d.csv", "line")
    assert ids[1][-1] == len(spec["alphabet"]) + 1


def test_row_inputs_refuse_missing_or_empty_columns_and_wrong_lengths() -> None:
    spec = dates_spec()
    with pytest.raises(BundleError, match="no column 'text'"):
        runtime.encode_rows(spec, pd.DataFrame({"date": ["1 May 2001"]}), "d.csv", "line")
    with pytest.raises(BundleError, match="column 'text' is empty at line 7"):
        runtime.encode_rows(spec, pd.DataFrame({"text": [None]}, index=[7]), "d.csv", "line")
    tokens = {"type": "tokens", "column": "sequence", "vocab": ["_", "1", "GO"], "one_hot": 3}
    fixed = {**tokens, "length": 3}
    with pytest.raises(BundleError, match="has 2 steps; the model reads exactly 3"):
        runtime.encode_rows(fixed, pd.DataFrame({"sequence": ["1 GO"]}), "s.csv", "line")
    pixels = {"type": "pixels", "columns": ["p0", "p1"], "max": 16.0, "shape": [2]}
    with pytest.raises(BundleError, match=r"'p1' at line 0 must be a number in 0..16"):
        runtime.encode_rows(pixels, pd.DataFrame({"p0": [1], "p1": [17]}), "p.csv", "line")


def test_outputs_decode_to_labels_probabilities_and_text() -> None:
    frame = pd.DataFrame({"text": ["a", "b"]})
    spec = {"type": "chars", "column": "text"}
    classes = runtime.decode_rows(
        {"type": "pixels"},
        {"type": "classes", "classes": ["no", "yes"]},
        frame,
        [(np.array([1, 0]), np.array([[0.0, 5.0], [3.0, 0.0]]))],
    )
    assert classes["prediction"].tolist() == ["no", "yes"]
    assert classes["probability"].iloc[0] == pytest.approx(1 / (1 + np.exp(-3)))
    logits = np.zeros((2, 4, 3))
    logits[0, [0, 1, 2, 3], [1, 2, 0, 1]] = 1.0  # "ab" then PAD: stops at the PAD
    logits[1, :, 2] = 1.0
    tokens = runtime.decode_rows(
        spec, {"type": "tokens", "vocab": ["<pad>", "a", "b"]}, frame, [(np.arange(2), logits)]
    )
    assert tokens["text"].tolist() == ["a", "b"]
    assert tokens["prediction"].tolist() == ["ab", "bbbb"]
    assert runtime.token_text([1, 2, 0, 1], ["<pad>", "one", "two"]) == "one two"


# ---- the folder ----------------------------------------------------------------------------


def folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / runtime.PREPROCESS).write_text("{}")
    (root / runtime.ONNX_FILE).write_bytes(b"graph")
    files = {p.name: {"sha256": runtime.sha256(p)} for p in root.iterdir()}
    manifest = {"format_version": runtime.FORMAT_VERSION, "files": files}
    (root / runtime.MANIFEST).write_text(json.dumps(manifest))
    return root


def test_a_changed_file_is_refused_before_anything_is_loaded(tmp_path: Path) -> None:
    root = folder(tmp_path)
    runtime.verify_files(root, json.loads((root / runtime.MANIFEST).read_text()))
    (root / runtime.ONNX_FILE).write_bytes(b"other graph")
    with pytest.raises(BundleError, match=r"model.onnx: checksum differs from manifest.json"):
        runtime.load_bundle(root)
    (root / runtime.ONNX_FILE).unlink()
    with pytest.raises(BundleError, match=r"model.onnx: missing"):
        runtime.load_bundle(root)


def test_folders_that_are_not_exports_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such model folder"):
        runtime.load_bundle(tmp_path / "nothing")
    with pytest.raises(BundleError, match=r"not an exported model folder \(no manifest.json\)"):
        runtime.load_bundle(tmp_path)
    root = folder(tmp_path)
    manifest = json.loads((root / runtime.MANIFEST).read_text())
    (root / runtime.MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(BundleError, match="format_version 99 is newer"):
        runtime.load_bundle(root)
    escape = {**manifest, "files": {"../secret": {"sha256": "0"}}}
    (root / runtime.MANIFEST).write_text(json.dumps(escape))
    with pytest.raises(BundleError, match="leaves the folder"):
        runtime.load_bundle(root)


def test_engine_without_its_artefact_is_refused(tmp_path: Path) -> None:
    root = folder(tmp_path)
    with pytest.raises(BundleError, match=r"no torchscript artefact .* engines here: onnx"):
        runtime.load_bundle(root, engine="torchscript")
    with pytest.raises(BundleError, match="unknown engine 'tf'"):
        runtime.load_bundle(root, engine="tf")


def test_the_runtime_imports_nothing_from_automl_rnn() -> None:
    package = Path(runtime.__file__).parent
    lines = [
        line for path in sorted(package.glob("*.py")) for line in path.read_text().splitlines()
    ]
    imports = [line for line in lines if line.strip().startswith(("import", "from"))]
    outside = [line for line in imports if "automl_rnn" in line]
    assert outside == ["        from automl_rnn.export.network import load_inference_net"]


def forecast_folder(tmp_path: Path) -> Path:
    """A TorchScript forecast folder whose graph repeats the last 2 scaled steps."""
    import torch

    class Tail(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, -2:, :]

    root = tmp_path / "model"
    root.mkdir()
    torch.jit.trace(Tail(), torch.zeros(1, 4, 1)).save(str(root / runtime.TORCHSCRIPT_FILE))
    spec = {**series_spec("global", window=4), "mu": [1.0], "sd": [2.0]}
    pre = {"kind": "forecast", "input": spec, "output": {"horizon": 2}}
    (root / runtime.PREPROCESS).write_text(json.dumps(pre))
    files = {p.name: {"sha256": runtime.sha256(p)} for p in root.iterdir()}
    manifest = {"format_version": runtime.FORMAT_VERSION, "files": files}
    (root / runtime.MANIFEST).write_text(json.dumps(manifest))
    return root


# Loads the copied runtime with every automl_rnn import refused, predicts, and says whether
# anything from automl_rnn got into the process.
STANDALONE = """
import json, sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name == "automl_rnn" or name.startswith("automl_rnn."):
            raise ImportError(f"refused: {name}")
        return None

sys.meta_path.insert(0, Refuse())
import pandas as pd
import automl_rnn_runtime

bundle = automl_rnn_runtime.load_bundle(sys.argv[1], engine="torchscript")
answer = bundle.predict(pd.read_json(sys.argv[2], orient="split"))
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "automl_rnn")
print(json.dumps({"answer": answer.to_dict(orient="list"), "automl_rnn": loaded}))
"""


def test_the_runtime_package_runs_where_automl_rnn_cannot_be_imported(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    code = tmp_path / "code"
    shutil.copytree(
        Path(runtime.__file__).parent,
        code / "automl_rnn_runtime",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    root = forecast_folder(tmp_path)
    frame = history(6)
    (tmp_path / "history.json").write_text(frame.to_json(orient="split"))
    done = subprocess.run(
        [sys.executable, "-c", STANDALONE, str(root), str(tmp_path / "history.json")],
        capture_output=True,
        text=True,
        cwd=code,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["automl_rnn"] == []
    expected = runtime.load_bundle(root, engine="torchscript").predict(frame)
    assert result["answer"]["month"] == ["2000-07-01", "2000-08-01"]
    np.testing.assert_allclose(result["answer"]["passengers"], frame["passengers"].iloc[-2:])
    np.testing.assert_allclose(result["answer"]["passengers"], expected["passengers"], rtol=1e-6)


def test_a_loaded_engine_leaves_torchs_thread_count_to_the_process(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "model.pt"
    torch.jit.script(torch.nn.Linear(3, 2)).save(str(path))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        engine = runtime.TorchScriptEngine(path, threads=1)
        out = engine.run(np.ones((4, 3), dtype=np.float32))
        assert out.shape == (4, 2)
        assert torch.get_num_threads() == 2  # the engine's 1 thread held only during run()
    finally:
        torch.set_num_threads(before)


def test_a_text_bundle_encodes_exactly_as_training_did(tmp_path: Path) -> None:
    from automl_rnn.config.experiment import ExperimentSpec
    from automl_rnn.config.hparams import Hyperparams

    path = tmp_path / "reviews.csv"
    texts = ["great film", "dull", "loved it!", "awful plot", "superb", "no"] * 6
    path.write_text("text,label\n" + "".join(f"{t},{i % 2}\n" for i, t in enumerate(texts)))
    spec = ExperimentSpec(data=str(path), text_col="text", target="label")
    prepared = prepare(DataSource.from_args(spec.data_args()))
    pre = codec.describe(spec, prepared, Hyperparams(topology="seq2vec"))
    assert pre["input"]["alphabet"] == list(prepared.alphabet)
    symbols = {ch: i + 1 for i, ch in enumerate(pre["input"]["alphabet"])}
    row = int(prepared.split["train"][0])
    encoded = prepared.views["seq2vec"].x[row, : len(texts[row])]
    assert [symbols[ch] for ch in texts[row]] == encoded.tolist()
