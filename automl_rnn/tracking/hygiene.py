"""Run hygiene: no run of ours is left RUNNING after its process died.

Every run automl-rnn creates carries the owner tag of the process that runs it
(``host:pid:start-time``). A run still RUNNING whose owner is gone was orphaned by a SIGKILL (or a
power cut): the next command on that workspace (search/resume, best, status, ui, report) closes it
as KILLED.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl_rnn.tracking.store import OWNER_TAG, ROLE_TAG, client, local_tracking_uri, mlflow_dir


def close_orphaned_runs(
    tracking_uri: str, experiment_name: str, ended_owner: str | None = None
) -> list[str]:
    """Set our RUNNING runs whose owner process died to KILLED; return their ids.

    ``ended_owner`` (this process, after an interrupted search) is alive but has no trial left
    running: its RUNNING trial runs are closed too, its search run is not.
    """
    from automl_rnn.search.storage import INTERRUPTED, WORKER_DIED, owner_alive

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
        ended = owner == ended_owner and run.data.tags.get(ROLE_TAG) == "trial"
        if owner is None or (not ended and owner_alive(owner)):
            continue  # not ours, or still running
        run_id = run.info.run_id
        if run.data.tags.get("state") == "running":
            mlflow_client.set_tag(run_id, "state", "killed")
            mlflow_client.set_tag(run_id, "reason", INTERRUPTED if ended else WORKER_DIED)
        note = (
            "interrupted search: trial run left open" if ended else "orphaned: owner process gone"
        )
        mlflow_client.set_tag(run_id, "automl_rnn.closed", note)
        mlflow_client.set_terminated(run_id, status="KILLED")
        closed.append(run_id)
    return closed


#: Study attribute: where the study's searches logged, the latest last: tracking URIs given with
#: ``--tracking-uri``, and ``LOCAL_STORE`` for the workspace's embedded store (kept as a token, not
#: a path, so a moved workspace still finds its store).
TRACKING_URIS_ATTR = "tracking_uris"
LOCAL_STORE = "workspace"


def record_tracking_uri(study: Any, tracking_uri: str | None) -> None:
    """Note where this search of ``study`` logs (None: the workspace's store); a resume may move."""
    where = tracking_uri or LOCAL_STORE
    stored = study.user_attrs.get(TRACKING_URIS_ATTR)
    used = [str(u) for u in stored or [] if u != where] + [where]
    if used != stored:
        study.set_user_attr(TRACKING_URIS_ATTR, used)


def study_tracking_uris(study: Any, workspace: Path) -> list[str]:
    """Every tracking URI the study logged to, the latest last (empty: nothing to clean up).

    Studies from before the record fall back to their first search's URI, else the workspace's
    embedded store when it exists."""
    local = (
        local_tracking_uri(workspace) if (mlflow_dir(workspace) / "mlflow.db").is_file() else None
    )
    used = study.user_attrs.get(TRACKING_URIS_ATTR)
    if used:
        uris = [local if u == LOCAL_STORE else str(u) for u in used]
        return [u for u in uris if u is not None]
    experiment = study.user_attrs.get("experiment") or {}
    if experiment.get("tracking") is False:
        return []
    uri = experiment.get("tracking_uri")
    if uri:
        return [str(uri)]
    return [local] if local else []


def study_tracking_uri(study: Any, workspace: Path) -> str | None:
    """The tracking URI the study's latest search logged to, or None without tracking."""
    uris = study_tracking_uris(study, workspace)
    return uris[-1] if uris else None


def tidy_study_runs(study: Any, workspace: Path) -> list[str]:
    """Close the orphaned runs of ``study``'s experiment in every store it logged to."""
    closed: list[str] = []
    for uri in study_tracking_uris(study, workspace):
        closed += close_orphaned_runs(uri, study.study_name)
    return closed
