"""The commands on a study already searched: ``best``, ``status``, ``repair``, ``report``, ``ui``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from automl_rnn.cli.common import (
    JsonOpt,
    StorageOpt,
    StudyOpt,
    WorkspaceOpt,
    interruptible,
    print_classical,
    print_front,
    show,
)


def best(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: JsonOpt = False,
    storage: StorageOpt = None,
) -> None:
    """The best trial of a study: value, parameters, validation and test metrics."""
    from automl_rnn import api

    show(api.best(study, workspace, storage), as_json, _print_best)


def _print_best(record: dict[str, Any]) -> None:
    if "pareto_front" in record:
        print_front([], record["pareto_front"])
    value = record.get("value", record.get("values"))
    typer.echo(f"study {record['study']}: best trial #{record['trial']} value {value}")
    for key, val in sorted(record["params"].items()):
        typer.echo(f"  {key}: {val}")
    for key, val in sorted(record["metrics"].items()):
        if key.startswith(("test_", "val_")):
            typer.echo(f"  {key}: {val:.5g}")
    baseline = record.get("baseline") or {}
    if "verdict" in baseline:
        typer.echo(f"  test verdict: {baseline['verdict']}")
    print_classical(baseline)


def status(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: JsonOpt = False,
    storage: StorageOpt = None,
) -> None:
    """How a search stands (running or not): trials by state, best so far, elapsed."""
    from automl_rnn import api

    show(api.status(study, workspace, storage), as_json, _print_status)


def _print_status(payload: dict[str, Any]) -> None:
    c = payload["counts"]
    typer.echo(
        f"study {payload['study']}: {c['complete']} complete, {c['pruned']} pruned, "
        f"{c['failed']} failed, {c['running']} running; {payload['elapsed_seconds']}s elapsed"
    )
    if payload["best"]:
        top = payload["best"]
        typer.echo(f"best so far: trial #{top['trial']} {top.get('value', top.get('values'))}")


def repair(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: JsonOpt = False,
    storage: StorageOpt = None,
) -> None:
    """After a crash: fail the trials whose process died, queue them again, close orphaned runs."""
    from automl_rnn import api

    show(api.repair(study, workspace, storage), as_json, _print_repair)


def _print_repair(payload: dict[str, Any]) -> None:
    failed, requeued, closed = payload["failed_trials"], payload["requeued"], payload["closed_runs"]
    typer.echo(
        f"study {payload['study']}: {len(failed)} stale trials failed, {len(requeued)} queued "
        f"again, {len(closed)} orphaned MLflow runs closed"
    )
    for label, numbers in (("failed", failed), ("queued again as", requeued)):
        if numbers:
            typer.echo(f"  {label}: " + ", ".join(f"trial #{number}" for number in numbers))
    if closed:
        typer.echo("  closed runs: " + ", ".join(str(run_id) for run_id in closed))


def report(
    study: StudyOpt,
    out: Annotated[str, typer.Option("--out", help="Folder for report.html and the PNG plots.")],
    workspace: WorkspaceOpt = ".",
    storage: StorageOpt = None,
) -> None:
    """Write a study's report: one self-contained HTML page plus PNG plots, usable offline."""
    from automl_rnn import api

    written = api.report(study, out, workspace, storage)
    typer.echo(written["files"][0])


def ui(
    workspace: WorkspaceOpt = ".",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback only unless --allow-remote).")
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host: the UI has no authentication, anyone reaching "
            "it can read and delete runs.",
        ),
    ] = False,
) -> None:
    """Open the MLflow UI on the workspace's runs (http://127.0.0.1:5000 by default)."""
    from automl_rnn import api

    with interruptible("MLflow UI stopped"):
        code = api.ui(workspace, port=port, host=host, allow_remote=allow_remote)
    raise typer.Exit(code if code > 0 else 0)
