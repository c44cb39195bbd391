"""The search's MLflow side, as the orchestrator drives it: probe the server before anything is
written, open (or reopen) the parent run, close what an interrupt left open, finish the parent."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from automl_rnn.config.experiment import ExperimentSpec
from automl_rnn.errors import ConfigError, one_line
from automl_rnn.ownership import owner_tag
from automl_rnn.search.ledger import Ledger
from automl_rnn.search.plan import SearchPlan
from automl_rnn.search.records import StudySnapshot
from automl_rnn.tracking.search_run import SearchRun


def open_tracking(spec: ExperimentSpec, plan: SearchPlan, ledger: Ledger) -> SearchRun | None:
    """Close orphaned runs of this study, then create or reopen its parent run (None: off)."""
    if not spec.tracking:
        return None
    from automl_rnn.tracking.hygiene import close_orphaned_runs, record_tracking_uri
    from automl_rnn.tracking.store import resolve_tracking_uri

    uri = resolve_tracking_uri(spec.workspace_path, spec.tracking_uri)
    try:
        close_orphaned_runs(uri, spec.study_name)
        search_run = SearchRun.open(spec, plan, ledger, owner_tag())
    except Exception as err:
        if all(t.status.value == "waiting" for t in ledger.snapshot().trials):
            ledger.delete()  # nothing ever ran in it (this command created it): leave nothing
        raise ConfigError(unusable(uri, err)) from None
    record_tracking_uri(ledger, spec.tracking_uri)
    return search_run


def unusable(uri: str, err: BaseException) -> str:
    text = str(err)
    if "error code 401 " in text or getattr(err, "error_code", None) == "UNAUTHENTICATED":
        return (
            f"the MLflow server at {uri} asks for a sign-in (HTTP 401): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to a user of that server, "
            "or pass --no-tracking"
        )
    if "error code 403 " in text or getattr(err, "error_code", None) == "PERMISSION_DENIED":
        return (
            f"the MLflow server at {uri} refused MLFLOW_TRACKING_USERNAME's request (HTTP 403): "
            "ask its admin for access, or pass --no-tracking"
        )
    return (
        f"MLflow tracking at {uri} is not usable ({type(err).__name__}: {one_line(err, 200)}); "
        "fix --tracking-uri or pass --no-tracking"
    )


def probe_tracking_server(uri: str) -> None:
    """Refuse an http(s) tracking URI nobody answers at within 5 s (MLflow itself retries for
    minutes), a server that refuses the credentials (its ``/health`` answers anyone), or any other
    URI MLflow cannot use; one line, before the study or its workspace exists."""
    import ssl
    from urllib.error import HTTPError, URLError
    from urllib.parse import urlsplit
    from urllib.request import urlopen

    scheme = urlsplit(uri).scheme
    if scheme in ("http", "https"):
        try:
            with urlopen(uri.rstrip("/") + "/health", timeout=5):  # http(s) only: checked above
                pass
        except HTTPError:
            pass  # something answers (a proxy's 401, an old server without /health)
        except (URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, ssl.SSLError) or isinstance(err, ssl.SSLError):
                return  # it answers; MLflow has its own certificate settings to judge it
            raise ConfigError(
                f"no MLflow server answers at {uri} ({reason}); start it, fix --tracking-uri, "
                "or pass --no-tracking"
            ) from None
    from automl_rnn.tracking.store import client

    try:
        client(uri).search_experiments(max_results=1)
    except Exception as err:
        raise ConfigError(unusable(uri, err)) from None


def close_trial_runs(search_run: SearchRun, snapshot: StudySnapshot) -> None:
    """After a search, with every worker gone: end any trial run still RUNNING (a worker
    killed mid-trial, or a process cut short in its own cleanup, leaves one) and mark KILLED a
    finished run whose trial recovery failed; a tracking error only warns."""
    from automl_rnn.tracking.hygiene import close_orphaned_runs, close_runs_of_recovered_trials

    target = search_run.target
    try:
        close_orphaned_runs(target.tracking_uri, target.study, ended_owner=owner_tag())
        close_runs_of_recovered_trials(target.tracking_uri, snapshot.trials)
    except Exception as err:
        print(
            f"warning: MLflow: trial runs left open were not closed ({type(err).__name__})",
            file=sys.stderr,
        )


def finish(
    search_run: SearchRun,
    snapshot: StudySnapshot,
    status: str = "FINISHED",
    error: str | None = None,
    ensemble: Mapping[str, Any] | None = None,
) -> None:
    """End the parent run with the study's description (and its report, when the search
    finished) and the scores of the ``ensemble`` that ``export`` makes by default; a tracking
    or report error here only warns (the trials are in the ledger)."""
    from automl_rnn.report import describe, write_report

    with tempfile.TemporaryDirectory(prefix="automl-rnn-report-") as folder:
        report: Path | None = None
        try:
            description = describe(snapshot)
            if status == "FINISHED":
                report = Path(folder) / "report"
                write_report(snapshot, report)
        except Exception as err:
            description, report = f"Search {status.lower()}.", None
            _warn("the search report was not written", err)
        try:
            search_run.finish(snapshot, description, report, status, error, ensemble)
        except Exception as err:
            _warn("the search run was not finished", err)


def _warn(what: str, err: Exception) -> None:
    print(
        f"warning: MLflow: {what} ({type(err).__name__}: {one_line(err, 200)}); "
        "every trial is stored in the study",
        file=sys.stderr,
    )


def ui_command(spec: ExperimentSpec) -> str:
    """The command that opens the MLflow UI on this search's runs."""
    if spec.tracking_uri:
        return f"open {spec.tracking_uri} (experiment '{spec.study_name}')"
    return f"automl-rnn ui --workspace {spec.workspace_path}"
