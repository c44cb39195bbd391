"""Export and predict end to end: real searches, real Optuna and MLflow stores, the real CLI.

One small search per task kind (forecast, classification, tokens), each exported once and shared
by the tests of this module. Predictions of the exported ONNX, TorchScript and eager engines are
checked against the search's own in-memory model on the test split.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from automl_rnn import api
from automl_rnn.data import prepare
from automl_rnn.data.images import PIXELS
from automl_rnn.data.source import DataSource
from automl_rnn.errors import ConfigError, UserError
from automl_rnn.export import runtime
from automl_rnn.export.pyfunc import using_store
from automl_rnn.models.factory import ArchConfig, build_network
from automl_rnn.models.module import RecurrentModule, TrainConfig
from automl_rnn.tracking.store import client, local_tracking_uri
from automl_rnn.training.recipe import resolve_params
from automl_rnn.trial.evaluate import predict as evaluate_predict

CLI = [sys.executable, "-m", "automl_rnn.cli"]
TASKS = Path(__file__).parents[2] / "tasks" / "data"
ENGINES = ("onnx", "torchscript", "eager")
REGISTERED = "air_passengers_model"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


@dataclass
class Exported:
    """A searched workspace and the export of its best trial."""

    workspace: Path
    study: str
    source: dict[str, Any]
    best: dict[str, Any]
    summary: dict[str, Any]

    @property
    def folder(self) -> Path:
        return Path(self.summary["out"])

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.folder / runtime.MANIFEST).read_text()))


def search_and_export(root: Path, source: dict[str, Any], formats: str, **options: Any) -> Exported:
    workspace = root / "workspace"
    summary = api.search(
        {**source, "space": "tiny", "trials": 2, "max_epochs": 2, "workspace": str(workspace),
         "seed": 0, **options.pop("search", {})},
        progress=False,
    )  # fmt: skip
    study = str(summary["study"])
    best = api.best(study, str(workspace))
    out = api.export(
        study, str(root / "model"), workspace=str(workspace), formats=formats, **options
    )
    return Exported(workspace, study, source, best, out)


@pytest.fixture(scope="module")
def forecast(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """air_passengers, tracked in MLflow; exported to every format and registered."""
    root = tmp_path_factory.mktemp("forecast")
    return search_and_export(
        root, {"task": "air_passengers"}, "onnx,torchscript,mlflow", register=REGISTERED
    )


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """digits (classification), searched with tracking off: its trials have no MLflow run."""
    root = tmp_path_factory.mktemp("digits")
    return search_and_export(
        root, {"task": "digits"}, "onnx,torchscript,mlflow", search={"tracking": False}
    )


@pytest.fixture(scope="module")
def dates(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """dates (tokens, variable-length inputs), 600 samples."""
    root = tmp_path_factory.mktemp("dates")
    source = {"task": "dates", "task_params": {"samples": 600}}
    return search_and_export(root, source, "onnx,torchscript", search={"tracking": False})


#: A round trip's search budget: one tiny trial of three epochs, nothing tracked.
ROUND_TRIP = ["--space", "tiny", "--trials", "1", "--max-epochs", "3", "--seed", "0"]


def search_export_by_cli(
    root: Path, data: Path, flags: list[str], source: dict[str, Any]
) -> Exported:
    """``search`` of the user's file ``data`` read with ``flags``, through the CLI (the
    :data:`ROUND_TRIP` budget), then ``best`` and ``export`` (ONNX, TorchScript) in this process;
    ``source`` is the same data as :class:`DataSource` arguments (for :func:`in_memory`)."""
    workspace = root / "ws"
    done = cli("search", "--data", str(data), *flags, *ROUND_TRIP, "--workspace",
               str(workspace), "--no-tracking", "--quiet", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    study = str(json.loads(done.stdout)["study"])
    best = api.best(study, str(workspace))
    out = api.export(
        study, str(root / "model"), workspace=str(workspace), formats="onnx,torchscript"
    )
    return Exported(workspace, study, {"data": str(data), **source}, best, out)


# ---- the in-memory model and inputs of the test split -----------------------------------------


def in_memory(exported: Exported) -> tuple[Any, np.ndarray]:
    """The prepared data and the best trial's test predictions, from its checkpoint and the
    search's own model code (``trial.evaluate.predict``)."""
    prepared = prepare(DataSource.from_args(exported.source))
    hp = resolve_params(exported.best["params"], prepared)
    topology = str(hp.topology)
    shape = prepared.shape(topology)
    arch = ArchConfig(
        hp.cell, topology, hp.num_layers, hp.hidden_size, hp.dropout, hp.bidirectional, hp.readout
    )
    net = build_network(arch, shape)
    checkpoint = (
        exported.workspace / "checkpoints" / exported.study / f"trial-{exported.best['trial']}.pt"
    )
    net.load_state_dict(torch.load(checkpoint, weights_only=True))
    module = RecurrentModule(net, shape, TrainConfig())
    loaders = prepared.loaders(topology, hp.seq_len, hp.batch_size, hp.scaling, 0)
    return prepared, evaluate_predict(module, loaders.test, torch.device("cpu"))


def air_history(path: Path, rows: int) -> Path:
    pd.read_csv(TASKS / "air_passengers.csv").head(rows).to_csv(path, index=False)
    return path


def split_inputs(exported: Exported, prepared: Any, path: Path) -> Path:
    """The test split's inputs as the CSV ``predict`` reads."""
    rows = prepared.split["test"]
    if exported.source["task"] == "digits":
        frame = pd.read_csv(TASKS / "digits.csv").iloc[rows][list(PIXELS)]
    else:
        alphabet = runtime.read_json(exported.folder / runtime.PREPROCESS)["input"]["alphabet"]
        view = prepared.views["encoder_decoder"]
        texts = ["".join(alphabet[i - 1] for i in view.x[r, : view.lengths[r]]) for r in rows]
        frame = pd.DataFrame({"text": texts})
    frame.to_csv(path, index=False)
    return path


def read_csv_text(text: str) -> pd.DataFrame:
    import io

    return pd.read_csv(io.StringIO(text), dtype={"prediction": str})


# ---- export: folder, manifest, verification ---------------------------------------------------


def test_manifest_records_the_trial_versions_and_a_checksum_of_every_file(
    forecast: Exported,
) -> None:
    manifest = forecast.manifest()
    best = forecast.best
    assert (manifest["study"], manifest["trial"], manifest["seed"]) == (
        "air_passengers",
        best["trial"],
        best["seed"],
    )
    assert manifest["params"] == best["params"] and manifest["metrics"] == best["metrics"]
    assert manifest["task"]["kind"] == "forecast" and manifest["task"]["fingerprint"]
    for package in ("torch", "onnx", "onnxruntime", "mlflow", "numpy", "python"):
        assert manifest["versions"][package], package
    files = sorted(p.name for p in forecast.folder.iterdir() if p.name != runtime.MANIFEST)
    assert files == sorted(manifest["files"])
    assert {"model.onnx", "model.torchscript.pt", "weights.pt", "preprocess.json"} <= set(files)
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == runtime.sha256(forecast.folder / name), name
    # The weights are the trial's best-epoch checkpoint, unchanged.
    checkpoint = Path(manifest["checkpoint"]["path"])
    assert manifest["checkpoint"]["sha256"] == runtime.sha256(checkpoint)
    saved = torch.load(forecast.folder / "weights.pt", weights_only=True)
    original = torch.load(checkpoint, weights_only=True)
    assert saved.keys() == original.keys()
    assert all(torch.equal(saved[k], original[k]) for k in saved)
    pre = runtime.read_json(forecast.folder / runtime.PREPROCESS)["input"]
    assert (pre["time_col"], pre["columns"], pre["freq"]) == ("month", ["passengers"], "MS")
    assert pre["window"] == best["params"]["seq_len"]


@pytest.mark.parametrize("task", ["forecast", "digits", "dates"])
def test_onnx_and_torchscript_are_verified_against_pytorch(
    task: str, request: pytest.FixtureRequest
) -> None:
    import onnx

    exported: Exported = request.getfixturevalue(task)
    checks = exported.manifest()["verification"]
    assert set(checks) == {"onnx", "torchscript"}
    for name, check in checks.items():
        print(task, name, "max abs diff", check["max_abs_diff"])
        assert check["passed"], (name, check)
        if task == "forecast":
            assert check["max_abs_diff"] <= 1e-4, (name, check)
        else:
            assert check["tokens_identical"] is True, (name, check)
        sizes = {batch[0] for batch in check["batches"]}
        assert 1 in sizes and max(sizes) > 2  # other batch sizes than the traced one (2)
    graph = onnx.load(str(exported.folder / runtime.ONNX_FILE)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims[:2] == ["batch", "steps"]  # dynamic batch and sequence length
    if task == "dates":  # variable-length inputs: verified on several lengths
        lengths = {batch[1] for batch in checks["onnx"]["batches"]}
        assert len(lengths) >= 3, lengths


# ---- predict: round trips ------------------------------------------------------------------


def test_forecast_round_trip_matches_the_in_memory_model(
    forecast: Exported, tmp_path: Path
) -> None:
    prepared, expected = in_memory(forecast)  # [1, 12, 1]: the one test window (1960)
    history = air_history(tmp_path / "history.csv", int(prepared.val_end))
    for engine in ENGINES:
        result = api.predict(str(forecast.folder), str(history), engine=engine)
        assert result["engine"] == engine
        frame = read_csv_text(result["csv"])
        assert list(frame.columns) == ["step", "month", "passengers"]
        assert frame["step"].tolist() == list(range(1, 13))
        assert frame["month"].tolist() == [f"1960-{m:02d}-01" for m in range(1, 13)]
        np.testing.assert_allclose(
            frame["passengers"].to_numpy(), expected[0, :, 0], rtol=1e-5, atol=1e-4
        )


@pytest.mark.parametrize("task", ["digits", "dates"])
def test_row_tasks_round_trip_identically_to_the_in_memory_model(
    task: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    exported: Exported = request.getfixturevalue(task)
    prepared, expected = in_memory(exported)
    wanted = prepared.decode(expected)  # class names, or texts
    data = split_inputs(exported, prepared, tmp_path / "inputs.csv")
    for engine in ENGINES:
        frame = read_csv_text(api.predict(str(exported.folder), str(data), engine=engine)["csv"])
        assert len(frame) == len(wanted)
        assert frame["prediction"].fillna("").tolist() == wanted, engine


def test_exported_folder_predicts_in_a_fresh_process_without_the_workspace(
    forecast: Exported, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere" / "model"
    shutil.copytree(forecast.folder, elsewhere)
    history = air_history(tmp_path / "history.csv", 144)
    expected = api.predict(str(forecast.folder), str(history))["csv"]
    moved = forecast.workspace.with_name("workspace-moved-away")
    forecast.workspace.rename(moved)
    try:
        done = cli("predict", "--model", str(elsewhere), "--data", str(history), cwd=tmp_path)
    finally:
        moved.rename(forecast.workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected  # the CSV goes to stdout by default
    assert done.stdout.splitlines()[1].startswith("1,1961-01-01,")
    out = tmp_path / "preds" / "forecast.csv"
    done = cli("predict", "--model", str(elsewhere), "--data", str(history), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == expected and done.stdout == ""


# ---- MLflow: the pyfunc model, its run, the registry, serving -----------------------------------


def test_pyfunc_model_is_logged_to_the_trials_run_with_signature_and_example(
    forecast: Exported,
) -> None:
    import mlflow

    logged = forecast.summary["mlflow"]
    run_id = forecast.best["mlflow_run_id"]
    assert run_id is not None  # the tracker recorded the trial's run
    assert (logged["run_id"], logged["new_run"]) == (run_id, False)
    uri = local_tracking_uri(forecast.workspace)
    assert client(uri).get_logged_model(logged["model_id"]).source_run_id == run_id
    with using_store(uri):
        model = mlflow.models.Model.load(logged["model_uri"])
    assert model.signature.inputs.input_names() == ["month", "passengers"]
    assert model.signature.outputs.input_names() == ["step", "month", "passengers"]
    assert model.saved_input_example_info["type"] == "dataframe"
    assert forecast.manifest()["mlflow"]["model_uri"] == logged["model_uri"]


def test_trial_without_a_run_gets_a_new_export_run(digits: Exported) -> None:
    logged = digits.summary["mlflow"]
    assert digits.best["mlflow_run_id"] is None
    assert logged["new_run"] is True
    assert logged["run_name"] == f"export-trial-{digits.best['trial']}"
    run = client(local_tracking_uri(digits.workspace)).get_run(logged["run_id"])
    assert run.info.run_name == logged["run_name"]
    assert run.data.tags["automl_rnn.role"] == "export"
    assert run.data.tags["automl_rnn.exported_model"] == logged["model_uri"]


def test_registry_alias_resolves_and_predict_takes_the_models_uri(
    forecast: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    registered = forecast.summary["mlflow"]["registered"]
    assert (registered["name"], registered["alias"]) == (REGISTERED, "champion")
    version = client(local_tracking_uri(forecast.workspace)).get_model_version_by_alias(
        REGISTERED, "champion"
    )
    assert int(version.version) == registered["version"]
    assert version.run_id == forecast.summary["mlflow"]["run_id"]
    history = air_history(tmp_path / "history.csv", 144)
    by_uri = api.predict(
        f"models:/{REGISTERED}@champion", str(history), workspace=str(forecast.workspace)
    )
    assert by_uri["csv"] == api.predict(str(forecast.folder), str(history))["csv"]
    with pytest.raises(UserError, match="models:/nobody@champion"):
        api.predict("models:/nobody@champion", str(history), workspace=str(forecast.workspace))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]  # no stray mlflow.db


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(model_uri: str, tracking_uri: str, cwd: Path) -> Iterator[str]:
    """``mlflow models serve`` on 127.0.0.1 (a free port) until the block ends."""
    port = free_port()
    env = dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # uvicorn
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri]
    command += ["-h", "127.0.0.1", "-p", str(port), "--env-manager", "local"]
    server = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                pytest.fail(f"mlflow models serve exited: {server.stdout.read()[-3000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{base}/ping", timeout=2)
                break
            assert time.monotonic() < deadline, "mlflow models serve did not start in 180 s"
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def invoke(base: str, frame: pd.DataFrame) -> tuple[int, dict[str, Any]]:
    body = {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    request = urllib.request.Request(
        f"{base}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_mlflow_models_serve_answers_a_real_http_request(
    forecast: Exported, tmp_path: Path
) -> None:
    history = pd.read_csv(TASKS / "air_passengers.csv")
    local = read_csv_text(
        api.predict(str(forecast.folder), str(air_history(tmp_path / "h.csv", 144)))["csv"]
    )
    uri = local_tracking_uri(forecast.workspace)
    with serving(f"models:/{REGISTERED}@champion", uri, tmp_path) as base:
        status, answer = invoke(base, history)
        short_status, refusal = invoke(base, history.tail(5))
    assert status == 200, answer
    served = pd.DataFrame(answer["predictions"])
    assert served["month"].tolist() == [f"1961-{m:02d}-01" for m in range(1, 13)]
    assert served["step"].tolist() == list(range(1, 13))
    np.testing.assert_allclose(served["passengers"], local["passengers"], rtol=1e-6)
    assert short_status == 400
    assert "history has 5 rows, shorter than the model's input window" in refusal["message"]


# ---- safe loading ----------------------------------------------------------------------------


class Payload:
    """Pickles to a call that writes ``marker`` when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def test_planted_checkpoint_fails_cleanly_with_no_side_effect(
    forecast: Exported, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(forecast.workspace, workspace)
    marker = tmp_path / "marker"
    planted = workspace / "checkpoints" / "air_passengers" / f"trial-{forecast.best['trial']}.pt"
    torch.save({"weight": Payload(marker)}, planted)
    out = tmp_path / "exported"
    done = cli(
        "export", "--study", "air_passengers", "--workspace", str(workspace), "--out", str(out),
        "--format", "onnx",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert f"{planted}: refused to load" in done.stderr and "exec" in done.stderr
    assert not marker.exists()
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".exported")]


def plant(folder: Path, name: str, data: bytes) -> None:
    """Replace ``name`` and its manifest checksum (an attacker controls the whole folder)."""
    (folder / name).write_bytes(data)
    manifest = json.loads((folder / runtime.MANIFEST).read_text())
    manifest["files"][name]["sha256"] = runtime.sha256(folder / name)
    (folder / runtime.MANIFEST).write_text(json.dumps(manifest))


def test_planted_files_in_an_exported_folder_fail_cleanly(
    forecast: Exported, tmp_path: Path
) -> None:
    import io
    import pickle

    history = air_history(tmp_path / "history.csv", 144)
    marker = tmp_path / "marker"
    folder = tmp_path / "model"
    shutil.copytree(forecast.folder, folder)
    buffer = io.BytesIO()
    torch.save({"net.head.weight": Payload(marker)}, buffer)
    plant(folder, "weights.pt", buffer.getvalue())
    with pytest.raises(UserError, match=r"weights.pt: refused to load model weights: .*exec"):
        api.predict(str(folder), str(history), engine="eager")
    # A TorchScript archive whose data.pkl is a pickle payload: TorchScript's reader refuses it.
    source = forecast.folder / runtime.TORCHSCRIPT_FILE
    crafted = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(crafted, "w") as archive:
        for item in original.namelist():
            data = original.read(item)
            if item.endswith("/data.pkl"):
                data = pickle.dumps(Payload(marker), protocol=2)
            archive.writestr(item, data)
    plant(folder, runtime.TORCHSCRIPT_FILE, crafted.getvalue())
    with pytest.raises(UserError, match="not a loadable TorchScript program"):
        api.predict(str(folder), str(history), engine="torchscript")
    assert not marker.exists()
    # Without the manifest updated, any change is caught by its checksum first.
    (folder / runtime.ONNX_FILE).write_bytes(b"changed")
    with pytest.raises(UserError, match=r"model.onnx: checksum differs from manifest.json"):
        api.predict(str(folder), str(history))


# ---- refit, bad input, flags -----------------------------------------------------------------


def test_refit_retrains_on_train_and_validation_with_the_same_seed(
    forecast: Exported, tmp_path: Path
) -> None:
    runs = []
    for name in ("first", "second"):
        summary = api.export(
            forecast.study, str(tmp_path / name), workspace=str(forecast.workspace),
            formats="onnx", refit=True,
        )  # fmt: skip
        runs.append(torch.load(tmp_path / name / "weights.pt", weights_only=True))
    refit = summary["refit"]
    assert refit["data"] == "train+val" and refit["seed"] == forecast.best["seed"]
    assert refit["epochs"] == int(forecast.best["metrics"]["best_epoch"]) + 1
    assert np.isfinite(refit["metrics"]["test_mae"])
    assert summary["verification"]["onnx"]["max_abs_diff"] <= 1e-4
    manifest = json.loads((tmp_path / "second" / runtime.MANIFEST).read_text())
    assert manifest["refit"] == refit and manifest["checkpoint"] is None
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])  # same seed, same weights
    trained = torch.load(forecast.folder / "weights.pt", weights_only=True)
    assert not all(torch.equal(runs[0][k], trained[k]) for k in trained)


def test_cli_export_says_what_it_did(forecast: Exported, tmp_path: Path) -> None:
    out = tmp_path / "refit"
    done = cli(
        "export", "--study", forecast.study, "--workspace", str(forecast.workspace),
        "--out", str(out), "--format", "torchscript", "--refit",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"exported trial #{forecast.best['trial']} of study air_passengers" in done.stdout
    assert "torchscript: verified against PyTorch" in done.stdout
    assert "refit: retrained on train+validation" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "model.torchscript.pt", "preprocess.json", "weights.pt",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "drop", "needle"),
    [
        (20, None, ["history has 20 rows, shorter than the model's input window"]),
        (144, "passengers", ["no column 'passengers'", "month, passengers"]),
    ],
)
def test_bad_history_is_refused_with_one_line_and_exit_2(
    forecast: Exported, tmp_path: Path, rows: int, drop: str | None, needle: list[str]
) -> None:
    frame = pd.read_csv(TASKS / "air_passengers.csv").head(rows)
    data = tmp_path / "history.csv"
    (frame.drop(columns=[drop]) if drop else frame).to_csv(data, index=False)
    out = tmp_path / "forecast.csv"
    done = cli("predict", "--model", str(forecast.folder), "--data", str(data), "--out", str(out))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {data}: ") and done.stderr.count("\n") == 1
    for text in needle:
        assert text in done.stderr, done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [data]


def test_bad_export_flags_are_refused_before_anything_is_written(
    forecast: Exported, tmp_path: Path
) -> None:
    workspace = str(forecast.workspace)
    out = tmp_path / "model"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"formats": "onnx,pickle"}, "unknown format 'pickle'"),
        ({"formats": "onnx", "register": "x"}, "--register needs the mlflow format"),
        ({"trial": 99}, "--trial 99: study 'air_passengers' has no such trial"),
        ({"formats": "mlflow"}, "--format mlflow serves the exported ONNX or TorchScript"),
    ]
    for options, needle in cases:
        with pytest.raises(UserError, match=needle):
            api.export(forecast.study, str(out), workspace=workspace, **options)
    assert list(tmp_path.iterdir()) == []
    (out / "keep.txt").parent.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="folder exists and is not empty"):
        api.export(forecast.study, str(out), workspace=workspace)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match=r"--out .*a-file/model: cannot write there"):
        api.export(forecast.study, str(blocker / "model"), workspace=workspace)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "model"]


def test_export_replaces_a_non_empty_folder_only_with_force(
    forecast: Exported, tmp_path: Path
) -> None:
    """A non-empty ``--out`` is refused and kept as it was; with ``force`` it is replaced by a
    complete export, and nothing is left beside it (no staging or old copy)."""
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="add --force to replace it"):
        api.export(forecast.study, str(out), workspace=str(forecast.workspace), formats="onnx")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    summary = api.export(
        forecast.study, str(out), workspace=str(forecast.workspace), formats="onnx", force=True
    )
    assert "keep.txt" not in summary["files"] and "model.onnx" in summary["files"]
    assert sorted(p.name for p in out.iterdir()) == summary["files"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_export_refuses_data_that_changed_since_the_search(
    forecast: Exported, tmp_path: Path
) -> None:
    import optuna

    from automl_rnn.search.storage import open_storage

    workspace = tmp_path / "workspace"
    shutil.copytree(forecast.workspace, workspace)
    study = optuna.load_study(study_name=forecast.study, storage=open_storage(workspace))
    parent = study.user_attrs["mlflow_parent_run_id"]
    client(local_tracking_uri(workspace)).set_tag(parent, "data_fingerprint", "0" * 64)
    with pytest.raises(UserError, match="its data changed since the search"):
        api.export(forecast.study, str(tmp_path / "model"), workspace=str(workspace))
    assert not (tmp_path / "model").exists()


def test_help_imports_no_heavy_module() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from automl_rnn.cli import app\n"
        "for command in (['--help'], ['export', '--help'], ['predict', '--help']):\n"
        "    assert CliRunner().invoke(app, command).exit_code == 0, command\n"
        "print(sorted(m for m in ('torch', 'mlflow', 'onnx', 'onnxruntime', 'ray') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_ctrl_c_during_export_refit_is_one_line_exit_130_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """Ctrl-C while ``export --refit`` retrains: one line, exit 130, no --out, no staging left."""
    import signal
    import time

    workspace = tmp_path / "workspace"
    api.search(
        {
            "task": "sine_mix",
            "space": "tiny",
            "trials": 1,
            "max_epochs": 150,
            "patience": None,
            "workspace": str(workspace),
            "tracking": False,
        },
        progress=False,
    )
    out = tmp_path / "model"
    export = subprocess.Popen(
        [
            *CLI,
            "export",
            "--study",
            "sine_mix",
            "--workspace",
            str(workspace),
            "--out",
            str(out),
            "--format",
            "onnx",
            "--refit",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".model.*.partial")) and time.monotonic() < deadline:
        assert export.poll() is None, export.communicate()
        time.sleep(0.05)
    time.sleep(1.0)  # inside the refit's training loop
    export.send_signal(signal.SIGINT)
    _, err = export.communicate(timeout=120)
    # 130, or killed by SIGINT (-2), which a shell reports as 130 too: CPython re-raises SIGINT
    # at exit when the interrupt landed inside exec()'d code of a (lazy) import, even though
    # the CLI handled it.
    assert export.returncode in (130, -signal.SIGINT), err
    assert err.strip().splitlines() == [f"interrupted: nothing was written to {out}"]
    assert not out.exists() and not list(tmp_path.glob(".model.*"))
