"""``automl-rnn predict``: an exported folder (or ``models:/NAME@alias``) and a CSV -> a CSV.

A ``models:/`` URI is resolved in the MLflow registry (``MLFLOW_TRACKING_URI`` when set, else the
workspace's store); the model's files are downloaded to a temporary folder and its ``bundle``
artefact is read like any exported folder: files only, nothing unpickled.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_rnn.errors import ConfigError, DataError, UserError
from automl_rnn.export import runtime

if TYPE_CHECKING:
    import pandas as pd

URI_SCHEMES = ("models:/",)


def check_engine(engine: str) -> None:
    if engine not in runtime.ENGINES:
        raise ConfigError(
            f"--engine: unknown engine '{engine}'; valid: {', '.join(runtime.ENGINES)}"
        )


def tracking_uri(workspace: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the workspace's embedded store (which must exist)."""
    from automl_rnn.tracking.store import local_tracking_uri, mlflow_dir

    given = os.environ.get("MLFLOW_TRACKING_URI")
    if given:
        return given
    if not (mlflow_dir(workspace) / "mlflow.db").is_file():
        raise UserError(
            f"no MLflow store in workspace {workspace}; give --workspace (the folder you "
            "exported from) or set MLFLOW_TRACKING_URI"
        )
    return local_tracking_uri(workspace)


@contextmanager
def model_folder(model: str, workspace: Path) -> Iterator[Path]:
    """The exported folder ``model`` names: a path, or a ``models:/`` URI downloaded for the call."""
    if not model.startswith(URI_SCHEMES):
        yield Path(model).expanduser()
        return
    from automl_rnn.export.pyfunc import quiet, using_store

    quiet()
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = tracking_uri(workspace)
    scratch = Path(tempfile.mkdtemp(prefix="automl-rnn-model-"))
    try:
        try:
            with using_store(uri):
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=model, dst_path=str(scratch), tracking_uri=uri, registry_uri=uri
                )
        except MlflowException as err:
            raise UserError(f"--model {model}: {err.message} (store: {uri})") from None
        bundle = _bundle_path(Path(local))
        if bundle is None or not (bundle / runtime.MANIFEST).is_file():
            raise UserError(f"--model {model}: not a model exported by `automl-rnn export`")
        yield bundle
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _bundle_path(model_dir: Path) -> Path | None:
    """Where the pyfunc model keeps its ``bundle`` artefact (as its MLmodel file says)."""
    import yaml

    try:
        meta = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
        relative = meta["flavors"]["python_function"]["artifacts"]["bundle"]["path"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    path = (model_dir / str(relative)).resolve()
    return path if path.is_relative_to(model_dir.resolve()) else None


def _read(data: str, bundle: runtime.Bundle) -> tuple[pd.DataFrame, str]:
    """The CSV as a table indexed by file line (a Parquet file of a long-table model: by row
    from 1), and what its index counts: read (delimiter, decimal comma) and, for a forecast, its
    time column parsed exactly as the training data's was."""
    from automl_rnn.data.csvread import parse_times, read_table
    from automl_rnn.data.parquet import is_parquet

    if bundle.pre["input"]["type"] in ("long", "panel") and is_parquet(data):
        return _read_parquet(Path(data)), "row"
    table = read_table(data)
    frame = table.frame.copy()
    frame.index = table.lines
    spec = bundle.pre["input"]
    if table.decimal == ",":
        numeric = list(spec.get("columns", [])) if spec["type"] in ("series", "pixels") else []
        for name in numeric:
            if name in frame.columns:
                text = frame[name].str.replace(".", "", regex=False)
                frame[name] = text.str.replace(",", ".", regex=False)
    time_col = spec.get("time_col") if spec["type"] == "series" else None
    if time_col and time_col in frame.columns:
        frame[time_col] = list(parse_times(table, time_col, spec.get("dayfirst")))
    return frame, table.row_name


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    from automl_rnn.data.parquet import check_parquet

    check_parquet(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # a damaged file fails anywhere in pyarrow or pandas' metadata
        raise DataError(f"{path}: unreadable Parquet ({str(err).strip()[:200]})") from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def write_atomically(path: Path, text: str) -> None:
    """``text`` to ``path`` via a temporary file beside it (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def predict(
    model: str, data: str, out: str | None = None, engine: str = "auto", workspace: str = "."
) -> dict[str, Any]:
    """Predict ``data`` with ``model``; the CSV goes to ``out`` (or is returned as ``csv``)."""
    check_engine(engine)
    target = Path(out).expanduser() if out else None
    if target is not None and target.is_dir():
        raise ConfigError(f"--out {out}: is a folder; give a CSV file name")
    folder = Path(workspace).expanduser().resolve()
    with model_folder(model, folder) as path:
        try:
            bundle = runtime.load_bundle(path, engine)
            frame, row = _read(data, bundle)
            result = bundle.predict(frame, source=str(data), row=row)
        except runtime.BundleError as err:
            raise DataError(str(err)) from None
        text = result.to_csv(index=False, lineterminator="\n")
        summary: dict[str, Any] = {
            "model": model,
            "engine": bundle.engine.name,
            "kind": bundle.kind,
            "rows": len(result),
            "columns": [str(c) for c in result.columns],
            "out": None,
        }
    if target is not None:
        write_atomically(target, text)
        summary["out"] = str(target)
    else:
        summary["csv"] = text
    return summary
