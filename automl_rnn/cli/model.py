"""The commands on a trained model: ``export`` and ``predict``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from automl_rnn.cli.common import JsonOpt, StorageOpt, StudyOpt, WorkspaceOpt, interruptible, show


def export(
    study: StudyOpt,
    out: Annotated[str, typer.Option("--out", help="Folder to create (new or empty).")],
    trial: Annotated[
        int | None, typer.Option("--trial", help="Trial number (default: the best).")
    ] = None,
    workspace: WorkspaceOpt = ".",
    formats: Annotated[
        str,
        typer.Option(
            "--format",
            help="Comma-separated: onnx, torchscript, mlflow (pyfunc model on the trial's run).",
        ),
    ] = "onnx,torchscript,mlflow",
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            metavar="MODEL_NAME",
            help="Register the MLflow model under this name and point alias 'champion' at it.",
        ),
    ] = None,
    refit: Annotated[
        bool,
        typer.Option("--refit", help="Retrain on train + validation first (same seed and epochs)."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a non-empty --out (once the new export is done)."),
    ] = False,
    as_json: JsonOpt = False,
    storage: StorageOpt = None,
    ensemble: Annotated[
        int | None,
        typer.Option(
            "--ensemble",
            metavar="K",
            min=1,
            help="Forecasts of one series: export the mean of the K best trials as one graph.",
        ),
    ] = None,
) -> None:
    """Export a trial's model (default: the best) for prediction without the training stack."""
    from automl_rnn import api

    with interruptible(f"nothing was written to {out}"):
        summary = api.export(
            study, out, trial, workspace, formats, register, refit, force, storage, ensemble
        )
    show(summary, as_json, _print_export)


def _print_export(summary: dict[str, Any]) -> None:
    ensemble = summary.get("ensemble")
    if ensemble is None:
        typer.echo(
            f"exported trial #{summary['trial']} of study {summary['study']} to {summary['out']}"
        )
    else:
        _print_ensemble(summary, ensemble)
    for name, check in summary["verification"].items():
        exact = "" if "tokens_identical" not in check else ", classes/tokens identical"
        typer.echo(
            f"  {name}: verified against PyTorch on {check['rows']} rows, "
            f"max abs diff {check['max_abs_diff']:.2g}{exact}"
        )
    _print_refit(summary.get("refit"))
    _print_mlflow(summary)
    typer.echo(f"  predict: automl-rnn predict --model {summary['out']} --data FILE.csv")


def _print_ensemble(summary: dict[str, Any], ensemble: dict[str, Any]) -> None:
    trials = ", ".join(f"#{n}" for n in ensemble["trials"])
    typer.echo(
        f"exported the mean of the {ensemble['size']} best trials ({trials}) of study "
        f"{summary['study']} to {summary['out']}"
    )
    best, scores = ensemble["members"][0], ensemble["metrics"]
    for split, name in (("val", "validation"), ("test", "test")):
        typer.echo(
            f"  {name} MAE: ensemble {scores[f'{split}_mae']:.4g}, best trial "
            f"{best[f'{split}_mae']:.4g} (rel_mae {scores[f'{split}_rel_mae']:.3f} vs "
            f"{best[f'{split}_rel_mae']:.3f})"
        )


def _print_refit(refitted: dict[str, Any] | None) -> None:
    if refitted:
        scores = ", ".join(
            f"{k}={v:.4g}" for k, v in refitted["metrics"].items() if "naive" not in k
        )
        typer.echo(
            f"  refit: retrained on train+validation for {refitted['epochs']} epochs "
            f"(seed {refitted['seed']}), not the search's weights; test: {scores}"
        )


def _print_mlflow(summary: dict[str, Any]) -> None:
    logged = summary.get("mlflow")
    if not logged:
        return
    where = f"run {logged['run_name'] or logged['run_id']} ({logged['run_id']})"
    if logged["new_run"]:
        where += f": trial {summary['trial']} had no MLflow run, so a new one was made"
    typer.echo(f"  mlflow: pyfunc model {logged['model_uri']} logged to {where}")
    if logged["registered"]:
        reg = logged["registered"]
        typer.echo(
            f"  registry: {reg['name']} version {reg['version']}, alias {reg['alias']} "
            f"(models:/{reg['name']}@{reg['alias']})"
        )


def predict(
    model: Annotated[
        str,
        typer.Option("--model", help="Exported folder, or models:/NAME@champion (registry)."),
    ],
    data: Annotated[
        str,
        typer.Option(
            "--data", help="CSV: recent history (forecast) or one input per row (other kinds)."
        ),
    ],
    out: Annotated[
        str | None, typer.Option("--out", help="CSV file to write (default: stdout).")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="auto (ONNX with onnxruntime, else TorchScript), onnx, torchscript, eager.",
        ),
    ] = "auto",
    workspace: Annotated[
        str, typer.Option("--workspace", help="Workspace whose MLflow store holds models:/ URIs.")
    ] = ".",
) -> None:
    """Predict with an exported model: the next horizon values, or one prediction per row."""
    from automl_rnn import api

    summary = api.predict(model, data, out, engine, workspace)
    if out is None:
        sys.stdout.write(summary["csv"])
    else:
        typer.echo(
            f"{summary['rows']} rows ({summary['engine']} engine) written to {summary['out']}",
            err=True,
        )
