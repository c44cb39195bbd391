"""The MLflow model: a pyfunc (models from code, signature, input example) logged to the trial's
run, optionally registered with the alias ``champion``.

The trial's run is the one the MLflow tracker recorded (trial user attr ``mlflow_run_id``); a trial
without one (tracking off) gets a new run ``export-trial-N`` in the study's experiment.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from automl_rnn.errors import UserError

if TYPE_CHECKING:
    from mlflow import MlflowClient

ALIAS = "champion"
ARTIFACT_NAME = "model"
#: The runtime package travels with the model under this name (see ``mlflow_entry.py``).
RUNTIME_MODULE = "automl_rnn_runtime"
#: Tag on a run this command created, and on every run it logged a model to.
EXPORT_TAG = "automl_rnn.exported_model"
#: The "models from code" file MLflow runs to load the model (never imported here).
ENTRY = Path(__file__).with_name("mlflow_entry.py")


@dataclass(frozen=True)
class Target:
    """Where the model goes: the store, the study's experiment, the trial (and its run, if any)."""

    tracking_uri: str
    workspace: Path
    study: str
    trial: int
    run_id: str | None


def quiet() -> None:
    """No progress bars or INFO lines from MLflow (our own output says what happened)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    import mlflow  # noqa: F401  (configures its loggers on import: quiet them after)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def using_store(tracking_uri: str) -> Iterator[None]:
    """MLflow's global tracking and registry URIs (and the environment variables MLflow sets
    with them) pointed at ``tracking_uri`` for the block, then restored exactly, unset included:
    the fluent API and ``models:/`` resolution read them, and the default would create
    ``mlflow.db`` in the current folder."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    environment = {name: os.environ.get(name) for name in names}
    saved = (getattr(tracking, "_tracking_uri", None), getattr(registry, "_registry_uri", None))
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        unset: Any = mlflow  # None (unset) is accepted, though not in the type hints
        unset.set_tracking_uri(saved[0])
        unset.set_registry_uri(saved[1])
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def requirements(engines: list[str]) -> list[str]:
    """Pinned pip requirements of the served model (what the runtime imports)."""
    needed = ["mlflow", "numpy", "pandas"]
    if "onnx" in engines:
        needed.append("onnxruntime")
    if "torchscript" in engines:
        needed.append("torch")
    return [f"{name}=={metadata.version(name)}" for name in needed]


def _run(target: Target, client: MlflowClient) -> tuple[str, str, bool]:
    """(run id, run name, created): the trial's run, or a new ``export-trial-N`` run."""
    from mlflow.exceptions import MlflowException

    from automl_rnn.tracking.store import ROLE_TAG, STUDY_TAG, ensure_experiment

    if target.run_id is not None:
        try:
            run = client.get_run(target.run_id)
        except MlflowException:
            raise UserError(
                f"trial {target.trial}'s MLflow run {target.run_id} is not in the store "
                f"{target.tracking_uri}; export with --format onnx,torchscript to skip MLflow"
            ) from None
        return run.info.run_id, run.info.run_name or "", False
    experiment = ensure_experiment(client, target.study, target.workspace, target.tracking_uri)
    name = f"export-trial-{target.trial}"
    tags = {STUDY_TAG: target.study, ROLE_TAG: "export", "trial": str(target.trial)}
    run = client.create_run(experiment, run_name=name, tags=tags)
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id, name, True


def log(
    target: Target,
    bundle: Path,
    engines: list[str],
    example: pd.DataFrame,
    prediction: pd.DataFrame,
    register: str | None,
) -> dict[str, Any]:
    """Log ``bundle`` as a pyfunc model to the trial's run; register it when asked."""
    quiet()
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    from automl_rnn.export import runtime
    from automl_rnn.tracking.store import client as make_client

    client = make_client(target.tracking_uri)
    try:
        run_id, run_name, created = _run(target, client)
        status = client.get_run(run_id).info.status
    except MlflowException as err:
        raise UserError(f"MLflow ({target.tracking_uri}): {err.message}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the hint about integer columns (ours: the step number)
        signature = infer_signature(example, prediction)
    code = Path(tempfile.mkdtemp(prefix="automl-rnn-code-"))
    try:
        shutil.copytree(
            Path(runtime.__file__).parent,
            code / RUNTIME_MODULE,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        bundle = Path(shutil.copytree(bundle, code / "bundle"))  # logged as artifacts/bundle
        with using_store(target.tracking_uri), mlflow.start_run(run_id=run_id):
            info = mlflow.pyfunc.log_model(
                name=ARTIFACT_NAME,
                python_model=str(ENTRY),
                artifacts={"bundle": str(bundle)},
                code_paths=[str(code / RUNTIME_MODULE)],
                signature=signature,
                input_example=example,
                pip_requirements=requirements(engines),
                metadata={"automl_rnn": {"study": target.study, "trial": target.trial}},
            )
        client.set_tag(run_id, EXPORT_TAG, info.model_uri)
        if status not in ("RUNNING", "FINISHED"):
            client.set_terminated(run_id, status)  # as it was (start_run reopened it)
        registered = None
        if register is not None:
            with using_store(target.tracking_uri), contextlib.redirect_stderr(io.StringIO()):
                version = mlflow.register_model(info.model_uri, register)
            registry = mlflow.MlflowClient(target.tracking_uri, registry_uri=target.tracking_uri)
            registry.set_registered_model_alias(register, ALIAS, version.version)
            registered = {"name": register, "version": int(version.version), "alias": ALIAS}
    except MlflowException as err:
        raise UserError(f"MLflow ({target.tracking_uri}): {err.message}") from None
    finally:
        shutil.rmtree(code, ignore_errors=True)
    return {
        "tracking_uri": target.tracking_uri,
        "run_id": run_id,
        "run_name": run_name,
        "new_run": created,
        "model_uri": info.model_uri,
        "model_id": getattr(info, "model_id", None),
        "registered": registered,
    }
