"""Orphaned runs are found and closed in every tracking store a study logged to, not only the
latest: a study first tracked elsewhere (``--tracking-uri``) and resumed into the workspace's
store keeps an orphan in the older store, and ``status`` / ``repair`` reach it there."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from automl_rnn import api
from automl_rnn.ownership import owner_alive, owner_tag
from automl_rnn.search.ledger import WORKER_DIED, Ledger
from automl_rnn.tracking.hygiene import record_tracking_uri, study_tracking_uris
from automl_rnn.tracking.store import (
    OWNER_TAG,
    ROLE_TAG,
    client,
    ensure_experiment,
    resolve_tracking_uri,
)

#: This pid with a start time it never had: a process that has ended (pid reused since).
GONE = f"{socket.gethostname()}:{os.getpid()}:0"


def _running_trial_run(uri: str, workspace: Path, study: str, owner: str) -> str:
    mlflow_client = client(uri)
    experiment = ensure_experiment(mlflow_client, study, workspace, uri)
    tags = {OWNER_TAG: owner, ROLE_TAG: "trial", "state": "running"}
    return str(mlflow_client.create_run(experiment, tags=tags).info.run_id)


def test_an_orphan_in_an_older_store_the_study_logged_to_is_closed(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    older = resolve_tracking_uri(tmp_path / "elsewhere")  # the first search's --tracking-uri
    latest = resolve_tracking_uri(workspace)  # the resumed search: the workspace's own store
    ledger = Ledger.create(workspace, "s", ["minimize"])
    record_tracking_uri(ledger, older)
    record_tracking_uri(ledger, None)
    info = Ledger.open(workspace, "s").info()
    assert study_tracking_uris(info, workspace) == [older, latest]  # the older one first

    assert not owner_alive(GONE) and owner_alive(owner_tag())
    orphan = _running_trial_run(older, workspace, "s", GONE)  # only the older store holds an orphan
    live = _running_trial_run(latest, workspace, "s", owner_tag())

    assert api.status("s", str(workspace))["orphaned_runs"] == [orphan]
    assert client(older).get_run(orphan).info.status == "RUNNING"  # status changes nothing
    assert api.repair("s", str(workspace))["closed_runs"] == [orphan]
    closed = client(older).get_run(orphan)
    assert closed.info.status == "KILLED"
    assert (closed.data.tags["state"], closed.data.tags["reason"]) == ("killed", WORKER_DIED)
    assert client(latest).get_run(live).info.status == "RUNNING"  # its owner still runs
