"""The Python API behind the CLI: tasks, inspect, search, best, status.

Each function takes plain values (as the CLI or a notebook would pass them), validates them at this
boundary, and returns plain data (dicts/lists) that print as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_rnn.search.ledger import Ledger


def tasks() -> list[dict[str, Any]]:
    """The built-in tasks as rows: name, kind, size, topologies, metric, description."""
    from automl_rnn.data.catalog import list_tasks

    return [info.as_dict() for info in list_tasks()]


def inspect_data(source_args: dict[str, Any]) -> dict[str, Any]:
    """Parse and validate a data source (built-in task or CSV); return its summary.

    ``source_args`` holds the data flags (``task`` or ``data`` + ``target`` ...). Raises
    :class:`automl_rnn.errors.UserError` (one line) for anything the user must fix.
    """
    from automl_rnn.data import prepare
    from automl_rnn.data.source import DataSource

    source = DataSource.from_args(source_args)
    return prepare(source).summary()


def spaces(name: str | None = None) -> Any:
    """All built-in search spaces (name, description, parameters), or one space in full."""
    from automl_rnn.search.space import describe_space, list_spaces

    if name is None:
        return list_spaces()
    return describe_space(name)


def search(
    overrides: dict[str, Any], config: str | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run (or resume) a search; return its summary. Validates everything before any trial."""
    import time

    from automl_rnn.orchestration.search import run_search

    started = time.monotonic()
    summary = run_search(overrides, config, progress)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    return summary


def best(study: str, workspace: str = ".", storage: str | None = None) -> dict[str, Any]:
    """The best trial of a study as a JSON-ready dict (see :func:`automl_rnn.search.summary.best`).
    ``storage``: the database URL the search used with ``--storage`` (else the workspace's)."""
    from automl_rnn.search.summary import best as best_of

    return best_of(_open(study, workspace, storage).snapshot())


def status(study: str, workspace: str = ".", storage: str | None = None) -> dict[str, Any]:
    """Counts by state, best so far, elapsed time; stale trials and orphaned runs are listed
    (``automl-rnn repair`` or the resuming ``search`` fixes them), never changed here."""
    from automl_rnn.search.summary import status as status_of

    ledger = _open(study, workspace, storage)
    payload = status_of(ledger.snapshot())
    payload["orphaned_runs"] = _orphaned_runs(ledger, _folder(workspace))
    return payload


def repair(study: str, workspace: str = ".", storage: str | None = None) -> dict[str, Any]:
    """Fail the study's stale trials (their process died) and queue their parameters again, and
    close its orphaned MLflow runs: what a resuming ``search`` does before it starts."""
    from automl_rnn.tracking.hygiene import tidy_study_runs

    folder = _folder(workspace)
    ledger = _open(study, workspace, storage)
    with ledger.claims():  # no worker (of any machine, on a database) claims a trial meanwhile
        before = {t.number for t in ledger.snapshot().trials}
        failed = ledger.recover_stale()
        requeued = [t.number for t in ledger.snapshot().trials if t.number not in before]
    snapshot = ledger.snapshot()
    closed = tidy_study_runs(snapshot.info, folder, snapshot.trials)
    return {"study": study, "failed_trials": failed, "requeued": requeued, "closed_runs": closed}


def ui(
    workspace: str = ".", port: int = 5000, host: str = "127.0.0.1", allow_remote: bool = False
) -> int:
    """Serve the MLflow UI on the workspace's store until interrupted (loopback by default)."""
    from automl_rnn.tracking.ui import serve

    return serve(Path(workspace).expanduser().resolve(), host, port, allow_remote)


def _folder(workspace: str) -> Path:
    return Path(workspace).expanduser().resolve()


def _open(study: str, workspace: str, storage: str | None = None) -> Ledger:
    """The study's ledger, for reading (a one-line error when there is none or ``storage`` is
    not a database URL that works)."""
    from automl_rnn.config.storage_url import check_url, mask_url
    from automl_rnn.errors import ConfigError
    from automl_rnn.search.ledger import Ledger

    if storage is not None:
        try:
            check_url(storage)
        except ValueError as err:
            raise ConfigError(f"--storage {mask_url(storage)}: {err}") from None
    return Ledger.open(_folder(workspace), study, storage)


def _orphaned_runs(ledger: Ledger, folder: Path) -> list[str]:
    """The study's MLflow runs left RUNNING by a process that is gone (an unreachable tracking
    server only warns)."""
    import sys

    from automl_rnn.tracking.hygiene import study_orphaned_runs

    try:
        return study_orphaned_runs(ledger.info(), folder)
    except Exception as err:
        print(
            f"warning: could not check MLflow runs for orphans ({type(err).__name__})",
            file=sys.stderr,
        )
        return []


def report(
    study: str, out: str, workspace: str = ".", storage: str | None = None
) -> dict[str, Any]:
    """Write the study's report (``report.html`` + PNG plots) into ``out``; list the files."""
    from automl_rnn.errors import UserError
    from automl_rnn.report import write_report

    folder = Path(out).expanduser()
    if folder.exists() and not folder.is_dir():  # refused before the study is touched
        raise UserError(f"--out {out}: is an existing file; give a folder for the report")
    files = write_report(_open(study, workspace, storage).snapshot(), folder)
    return {
        "study": study,
        "out": str(files[0].parent),
        "files": [str(f) for f in files],
    }


def export(
    study: str,
    out: str,
    trial: int | None = None,
    workspace: str = ".",
    formats: str = "onnx,torchscript,mlflow",
    register: str | None = None,
    refit: bool = False,
    force: bool = False,
    storage: str | None = None,
    ensemble: int | None = None,
) -> dict[str, Any]:
    """Export a trial (default: the best) to ``out``: ONNX / TorchScript (each verified against
    PyTorch), a manifest with checksums, and an MLflow pyfunc model (``register`` names it in the
    registry with alias ``champion``). ``refit`` retrains on train + validation first; ``force``
    replaces a non-empty ``out``. ``ensemble=K`` (forecasts of one series) exports the mean of
    the K best trials as one graph instead, scored next to each member (``summary["ensemble"]``)."""
    from automl_rnn.export.bundle import export_trial, parse_formats
    from automl_rnn.export.folder import check_out

    parse_formats(formats)  # flags refused before the study is touched
    check_out(Path(out).expanduser().resolve(), force)
    snapshot = _open(study, workspace, storage).snapshot()
    summary = export_trial(
        snapshot, _folder(workspace), out, trial, formats, register, refit, force, ensemble
    )
    summary.pop("manifest", None)
    return summary


def predict(
    model: str, data: str, out: str | None = None, engine: str = "auto", workspace: str = "."
) -> dict[str, Any]:
    """Predict with an exported folder or ``models:/NAME@alias``: a forecast from a history CSV,
    or one prediction per input row. The CSV goes to ``out`` (or is returned under ``csv``)."""
    from automl_rnn.export.predict import predict as run_predict

    return run_predict(model, data, out, engine, workspace)
