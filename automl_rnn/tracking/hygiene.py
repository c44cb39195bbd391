"""Run hygiene: no run of ours is left RUNNING after its process died.

Every run automl-rnn creates carries the owner tag of the process that runs it
(``host:pid:start-time``). A run still RUNNING whose owner is gone was orphaned by a SIGKILL (or a
power cut): the next command on that workspace (search/resume, best, status, ui, report) closes it
as KILLED.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_rnn.tracking.store import OWNER_TAG, client, local_tracking_uri, mlflow_dir


def close_orphaned_runs(tracking_uri: str, experiment_name: str) -> list[str]:
    """Set our RUNNING runs whose owner process died to KILLED; return their ids."""
    from automl_rnn.search.storage import owner_alive

    mlflow_client = client(tracking_uri)
    experiment = mlflow_client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    closed = []
    runs = mlflow_client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=5000
    )
    for run in runs:
        owner = run.data.tags.get(OWNER_TAG)
        if owner is None or owner_alive(owner):
            continue  # not ours, or still running
        run_id = run.info.run_id
        if run.data.tags.get("state") == "running":
            mlflow_client.set_tag(run_id, "state", "killed")
            mlflow_client.set_tag(run_id, "reason", "worker died (killed mid-trial)")
        mlflow_client.set_tag(run_id, "automl_rnn.closed", "orphaned: owner process gone")
        mlflow_client.set_terminated(run_id, status="KILLED")
        closed.append(run_id)
    return closed


def study_tracking_uri(study: Any, workspace: Path) -> str | None:
    """The tracking URI a study logged to, or None when it has nothing to clean up."""
    experiment = study.user_attrs.get("experiment") or {}
    if experiment.get("tracking") is False:
        return None
    uri = experiment.get("tracking_uri")
    if uri:
        return str(uri)
    return (
        local_tracking_uri(workspace) if (mlflow_dir(workspace) / "mlflow.db").is_file() else None
    )


def tidy_study_runs(study: Any, workspace: Path) -> list[str]:
    """Close the orphaned runs of ``study``'s experiment (a no-op without tracking)."""
    uri = study_tracking_uri(study, workspace)
    if uri is None:
        return []
    return close_orphaned_runs(uri, study.study_name)
