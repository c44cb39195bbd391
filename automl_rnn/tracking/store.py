"""Where a workspace's MLflow data lives, and the experiment each study logs to.

Embedded default: a SQLite tracking database and an artifact folder under ``<workspace>/mlflow/``,
nothing to start. ``--tracking-uri`` points at a real tracking server instead.

One MLflow experiment per study (named after the study): a study is what a user resumes,
compares and reports on, and the parent run of the search plus one child run per trial then
sit together in one experiment page. Several tasks searched under different study names stay
apart; two searches of one task (say, two spaces) stay apart too, as they should.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

#: Tag on every run we create: the process that owns it (see ``search.storage.owner_tag``).
OWNER_TAG = "automl_rnn.owner"
#: Tag on the parent run of a search, and on each trial run (the study it belongs to).
STUDY_TAG = "automl_rnn.study"
#: Tag naming what a run is: ``search`` (the parent) or ``trial``.
ROLE_TAG = "automl_rnn.role"


def mlflow_dir(workspace: Path) -> Path:
    """``<workspace>/mlflow/``: the local tracking database and artifacts."""
    return workspace / "mlflow"


def local_tracking_uri(workspace: Path) -> str:
    """The embedded store's URI: ``sqlite:///<workspace>/mlflow/mlflow.db``."""
    return f"sqlite:///{mlflow_dir(workspace) / 'mlflow.db'}"


def local_artifact_root(workspace: Path) -> Path:
    """Artifacts of the embedded store: ``<workspace>/mlflow/artifacts/``."""
    return mlflow_dir(workspace) / "artifacts"


def is_local(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("sqlite:", "file:")) or "://" not in tracking_uri


def resolve_tracking_uri(workspace: Path, tracking_uri: str | None = None) -> str:
    """``tracking_uri`` when given, else the workspace's embedded store (created on first use)."""
    if tracking_uri:
        return tracking_uri
    database = mlflow_dir(workspace) / "mlflow.db"
    if not database.is_file():
        database.parent.mkdir(parents=True, exist_ok=True)
        _copy_atomically(_template_database(), database)
    return local_tracking_uri(workspace)


def _template_database() -> Path:
    """An empty, fully migrated MLflow database for this MLflow/SQLAlchemy version.

    Creating an MLflow SQLite store runs its whole Alembic history (5-8 s here); a new workspace
    copies this template instead (milliseconds). Kept in the user's cache folder.
    """
    from importlib import metadata

    tag = "-".join(metadata.version(p) for p in ("mlflow", "sqlalchemy", "alembic"))
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "automl-rnn"
    template = cache / f"mlflow-empty-{tag}.db"
    if template.is_file():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    building = cache / f".building-{os.getpid()}"
    building.mkdir(exist_ok=True)
    try:
        fresh = building / "mlflow.db"
        client(f"sqlite:///{fresh}").search_experiments(max_results=1)  # creates + migrates
        _copy_atomically(fresh, template)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return template


def _copy_atomically(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)  # a full disk leaves nothing half-copied
        raise


def client(tracking_uri: str) -> Any:
    """An ``MlflowClient`` for ``tracking_uri``.

    SQLite connections are not pooled (``NullPool``): worker processes fork from the driver, and
    a pooled connection inherited across ``fork`` must never be shared by two processes.
    """
    os.environ.setdefault("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    from mlflow import MlflowClient

    for name in ("mlflow", "alembic"):  # their INFO lines (engine, migrations) are not ours to show
        logging.getLogger(name).setLevel(logging.WARNING)

    return MlflowClient(tracking_uri=tracking_uri)


def ensure_experiment(mlflow_client: Any, study: str, workspace: Path, tracking_uri: str) -> str:
    """The id of the study's experiment, created on first use (artifacts under the workspace
    for the embedded store; the server's default artifact root otherwise)."""
    found = mlflow_client.get_experiment_by_name(study)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    location = None
    if is_local(tracking_uri):
        root = local_artifact_root(workspace)
        root.mkdir(parents=True, exist_ok=True)
        location = (root / study).as_uri()
    return str(mlflow_client.create_experiment(study, artifact_location=location))
