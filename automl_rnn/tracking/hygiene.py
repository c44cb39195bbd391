"""Run hygiene: no run of ours is left RUNNING after its process died.

Every run automl-rnn creates carries the owner tag of the process that runs it
(``host:pid:start-time``). A run still RUNNING whose owner is gone was orphaned by a SIGKILL (or a
power cut): the next ``search`` (resume) or an explicit ``repair`` closes it as KILLED; ``status``
only lists it (:func:`orphaned_runs`). A process killed after ending its trial's run but before
recording the trial leaves a FINISHED run whose trial recovery then fails: that run is marked
KILLED with the ledger's reason (:func:`close_runs_of_recovered_trials`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_rnn.ownership import owner_alive
from automl_rnn.search.ledger import INTERRUPTED, RECOVERED, WORKER_DIED
from automl_rnn.search.records import TrialRecord, TrialStatus
from automl_rnn.tracking.store import OWNER_TAG, ROLE_TAG, client, local_tracking_uri, mlflow_dir

if TYPE_CHECKING:
    from automl_rnn.search.ledger import Ledger
    from automl_rnn.search.records import StudyInfo


def _orphans(mlflow_client: Any, experiment_name: str, ended_owner: str | None) -> list[Any]:
    """Our RUNNING runs whose owner process is gone (or is ``ended_owner``'s trial runs)."""
    experiment = mlflow_client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return []
    runs = mlflow_client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=5000
    )
    found = []
    for run in runs:
        owner = run.data.tags.get(OWNER_TAG)
        ended = owner == ended_owner and run.data.tags.get(ROLE_TAG) == "trial"
        if owner is not None and (ended or not owner_alive(owner)):
            found.append(run)
    return found


def orphaned_runs(tracking_uri: str, experiment_name: str) -> list[str]:
    """Ids of the experiment's runs left RUNNING by a process that is gone (nothing changed)."""
    return [run.info.run_id for run in _orphans(client(tracking_uri), experiment_name, None)]


def close_orphaned_runs(
    tracking_uri: str, experiment_name: str, ended_owner: str | None = None
) -> list[str]:
    """Set our RUNNING runs whose owner process died to KILLED; return their ids.

    ``ended_owner`` (this process, after an interrupted search) is alive but has no trial left
    running: its RUNNING trial runs are closed too, its search run is not.
    """
    mlflow_client = client(tracking_uri)
    closed = []
    for run in _orphans(mlflow_client, experiment_name, ended_owner):
        ended = run.data.tags.get(OWNER_TAG) == ended_owner
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


def close_runs_of_recovered_trials(tracking_uri: str, trials: Iterable[TrialRecord]) -> list[str]:
    """Mark KILLED, with the ledger's reason, the FINISHED runs of trials that recovery failed
    (their process died after ending the run, before recording the trial); return their ids.
    Runs in another store, or already FAILED or KILLED, are left as they are."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(tracking_uri)
    closed = []
    for trial in trials:
        run_id = trial.mlflow_run_id
        if trial.status is not TrialStatus.FAILED or trial.reason not in RECOVERED:
            continue
        try:
            if run_id is None or mlflow_client.get_run(run_id).info.status != "FINISHED":
                continue
        except MlflowException:
            continue  # logged to another store the study used
        mlflow_client.set_tag(run_id, "state", "killed")
        mlflow_client.set_tag(run_id, "reason", str(trial.reason))
        mlflow_client.set_tag(
            run_id, "automl_rnn.closed", "trial failed by recovery after its run ended"
        )
        mlflow_client.set_terminated(run_id, status="KILLED")
        closed.append(run_id)
    return closed


#: How the workspace's embedded store is noted among a study's tracking URIs (a token, not a
#: path, so a moved workspace still finds its store).
LOCAL_STORE = "workspace"


def record_tracking_uri(ledger: Ledger, tracking_uri: str | None) -> None:
    """Note where this search logs (None: the workspace's store); a resume may move."""
    ledger.add_tracking_uri(tracking_uri or LOCAL_STORE)


def study_tracking_uris(info: StudyInfo, workspace: Path) -> list[str]:
    """Every tracking URI the study logged to, the latest last (empty: nothing to clean up).

    Studies from before the record fall back to their first search's URI, else the workspace's
    embedded store when it exists."""
    local = (
        local_tracking_uri(workspace) if (mlflow_dir(workspace) / "mlflow.db").is_file() else None
    )
    if info.tracking_uris:
        uris = [local if u == LOCAL_STORE else u for u in info.tracking_uris]
        return [u for u in uris if u is not None]
    if info.experiment.get("tracking") is False:
        return []
    uri = info.experiment.get("tracking_uri")
    if uri:
        return [str(uri)]
    return [local] if local else []


def study_tracking_uri(info: StudyInfo, workspace: Path) -> str | None:
    """The tracking URI the study's latest search logged to, or None without tracking."""
    uris = study_tracking_uris(info, workspace)
    return uris[-1] if uris else None


def study_orphaned_runs(info: StudyInfo, workspace: Path) -> list[str]:
    """The study's orphaned runs in every store it logged to (read only)."""
    return [
        run for uri in study_tracking_uris(info, workspace) for run in orphaned_runs(uri, info.name)
    ]


def tidy_study_runs(
    info: StudyInfo, workspace: Path, trials: Iterable[TrialRecord] = ()
) -> list[str]:
    """Close the orphaned runs of the study's experiment in every store it logged to, and the
    finished runs of its ``trials`` that recovery failed."""
    closed: list[str] = []
    trials = list(trials)
    for uri in study_tracking_uris(info, workspace):
        closed += close_orphaned_runs(uri, info.name)
        closed += close_runs_of_recovered_trials(uri, trials)
    return closed
