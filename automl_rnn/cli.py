"""The ``automl-rnn`` command line: each command is a thin shell over :mod:`automl_rnn.api`.

Imports nothing heavy at module level (no torch, Ray or MLflow): ``automl-rnn --help`` stays fast.
Errors the user can fix (:class:`automl_rnn.errors.UserError`) print as one line and exit with 2.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from automl_rnn.errors import Terminated, UserError

app = typer.Typer(
    name="automl-rnn",
    help="Find the best recurrent model (RNN, LSTM, GRU x topology) for your sequence data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Options shared by every command that reads data (search, inspect).
TaskOpt = Annotated[str | None, typer.Option("--task", help="Built-in task name (see `tasks`).")]
DataOpt = Annotated[str | None, typer.Option("--data", help="Your own CSV file.")]
TargetOpt = Annotated[
    str | None, typer.Option("--target", help="Target column (forecast) or label column (text).")
]
TimeColOpt = Annotated[str | None, typer.Option("--time-col", help="Time column (parsed, sorted).")]
FeaturesOpt = Annotated[
    str | None, typer.Option("--features", help="Comma-separated covariate columns.")
]
HorizonOpt = Annotated[int | None, typer.Option("--horizon", help="Steps to forecast.")]
SeasonOpt = Annotated[
    int | None, typer.Option("--season", help="Seasonal period (inferred when not given).")
]
MissingOpt = Annotated[
    str | None, typer.Option("--missing", help="interpolate (default), drop or error.")
]
TextColOpt = Annotated[
    str | None,
    typer.Option("--text-col", help="Text column read character by character (classification)."),
]


def _data_args(**kwargs: Any) -> dict[str, Any]:
    """The data-source flags the user gave (None means 'not given')."""
    return {key: value for key, value in kwargs.items() if value is not None}


def _echo_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


@app.command()
def tasks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the built-in tasks: kind, size, topologies that fit, metric."""
    from automl_rnn import api

    rows = api.tasks()
    if as_json:
        _echo_json(rows)
        return
    header = ("name", "kind", "size", "topologies", "metric")
    table = [header] + [
        (r["name"], r["kind"], str(r["size"]), ",".join(r["topologies"]), r["metric"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@app.command()
def inspect(
    task: TaskOpt = None,
    data: DataOpt = None,
    target: TargetOpt = None,
    time_col: TimeColOpt = None,
    features: FeaturesOpt = None,
    horizon: HorizonOpt = None,
    season: SeasonOpt = None,
    missing: MissingOpt = None,
    text_col: TextColOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check a task or your CSV before searching: splits, season, baselines; refuses bad data."""
    from automl_rnn import api

    summary = api.inspect_data(
        _data_args(
            task=task,
            data=data,
            target=target,
            time_col=time_col,
            features=features,
            horizon=horizon,
            season=season,
            missing=missing,
            text_col=text_col,
        )
    )
    if as_json:
        _echo_json(summary)
        return
    for key, value in summary.items():
        typer.echo(
            f"{key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}"
        )


@app.command()
def search(
    task: TaskOpt = None,
    data: DataOpt = None,
    target: TargetOpt = None,
    time_col: TimeColOpt = None,
    features: FeaturesOpt = None,
    horizon: HorizonOpt = None,
    season: SeasonOpt = None,
    missing: MissingOpt = None,
    text_col: TextColOpt = None,
    topology: Annotated[
        str | None, typer.Option(help="A topology, or auto: those the task fits.")
    ] = None,
    space: Annotated[str | None, typer.Option(help="Built-in space name or YAML file.")] = None,
    backend: Annotated[str | None, typer.Option(help="optuna (embedded default).")] = None,
    trials: Annotated[
        int | None,
        typer.Option(help="Finished trials to reach (default 10; no limit with --timeout alone)."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds; no trial starts after.")] = None,
    max_epochs: Annotated[int | None, typer.Option(help="Epochs per trial (default 40).")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop a trial after N flat epochs.")] = None,
    workers: Annotated[int | None, typer.Option(help="Trial processes on this machine.")] = None,
    threads: Annotated[
        int | None, typer.Option(help="Torch threads per worker (default 1).")
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name; the same name resumes.")] = None,
    workspace: Annotated[str | None, typer.Option(help="Folder for all search state.")] = None,
    seed: Annotated[int | None, typer.Option(help="Search seed (trial seeds derive).")] = None,
    objectives: Annotated[
        str | None, typer.Option(help="e.g. val_loss or val_loss,params (Pareto front).")
    ] = None,
    sampler: Annotated[str | None, typer.Option(help="tpe (default), random, gp, cmaes.")] = None,
    pruner: Annotated[str | None, typer.Option(help="hyperband (default), median, none.")] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="MLflow tracking server, e.g. http://host:5000 (default: the workspace)."
        ),
    ] = None,
    no_tracking: Annotated[
        bool, typer.Option("--no-tracking", help="Log nothing to MLflow.")
    ] = False,
    config: Annotated[str | None, typer.Option(help="Experiment YAML; flags override.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No per-trial progress lines.")] = False,
) -> None:
    """Search recurrent models for a built-in task or your CSV (Optuna, on this machine)."""
    from automl_rnn import api

    overrides = {
        **_data_args(
            task=task,
            data=data,
            target=target,
            time_col=time_col,
            features=features,
            horizon=horizon,
            season=season,
            missing=missing,
            text_col=text_col,
        ),
        "topology": topology,
        "space": space,
        "backend": backend,
        "trials": trials,
        "timeout": timeout,
        "max_epochs": max_epochs,
        "patience": patience,
        "workers": workers,
        "threads": threads,
        "study": study,
        "workspace": workspace,
        "seed": seed,
        "objectives": objectives,
        "sampler": sampler,
        "pruner": pruner,
        "tracking_uri": tracking_uri,
        "tracking": False if no_tracking else None,
    }
    with _interruptible("run the same command again to resume the study"):
        summary = api.search(overrides, config=config, progress=not quiet)
    if as_json:
        _echo_json(summary)
    else:
        _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    typer.echo(
        f"\nstudy {summary['study']} ({summary['task']}, space {summary['space']}): "
        f"{counts['complete']} complete, {counts['pruned']} pruned, {counts['failed']} failed "
        f"in {summary['wall_seconds']:.0f}s"
    )
    for reason, count in summary["failure_reasons"].items():
        typer.echo(f"  failed x{count}: {reason}")
    if summary.get("stopped"):
        typer.echo(f"stopped early: {summary['stopped']}")
    top = summary.get("best")
    if top is None:
        typer.echo("no completed trial: nothing to report")
        return
    if "pareto_front" in top:
        _print_front(summary["objectives"], top["pareto_front"])
    value = top.get("value", top.get("values"))
    typer.echo(f"best trial #{top['trial']}: {', '.join(summary['objectives'])} = {value}")
    typer.echo("  params: " + ", ".join(f"{k}={v}" for k, v in sorted(top["params"].items())))
    baseline = summary.get("baseline") or {}
    if "verdict" in baseline:
        numbers = ", ".join(f"{k}={v:.4g}" for k, v in baseline.items() if isinstance(v, float))
        typer.echo(f"  test: {numbers} -> {baseline['verdict']}")
    elif baseline:
        typer.echo("  test: " + ", ".join(f"{k}={v:.4g}" for k, v in baseline.items()))
    typer.echo(
        f"  details: automl-rnn best --study {summary['study']} --workspace {summary['workspace']}"
    )
    if summary.get("mlflow"):
        typer.echo(f"  runs in MLflow: {summary['mlflow']['ui']}")


def _print_front(objectives: list[str], front: list[dict[str, Any]]) -> None:
    """The Pareto front, one trial per line, best on the first objective first."""
    names = f"; {', '.join(objectives)}" if objectives else ""
    typer.echo(f"Pareto front ({len(front)} trials{names}):")
    for point in front:
        values = ", ".join(f"{v:.4g}" for v in point["values"])
        typer.echo(f"  trial #{point['trial']}: {values}")


StudyOpt = Annotated[str, typer.Option("--study", help="Study name.")]
WorkspaceOpt = Annotated[str, typer.Option("--workspace", help="Workspace folder.")]


@app.command()
def best(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The best trial of a study: value, parameters, validation and test metrics."""
    from automl_rnn import api

    record = api.best(study, workspace)
    if as_json:
        _echo_json(record)
        return
    if "pareto_front" in record:
        _print_front([], record["pareto_front"])
    value = record.get("value", record.get("values"))
    typer.echo(f"study {record['study']}: best trial #{record['trial']} value {value}")
    for key, val in sorted(record["params"].items()):
        typer.echo(f"  {key}: {val}")
    for key, val in sorted(record["metrics"].items()):
        if key.startswith(("test_", "val_")):
            typer.echo(f"  {key}: {val:.5g}")


@app.command()
def status(
    study: StudyOpt,
    workspace: WorkspaceOpt = ".",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How a search stands (running or not): trials by state, best so far, elapsed."""
    from automl_rnn import api

    payload = api.status(study, workspace)
    if as_json:
        _echo_json(payload)
        return
    c = payload["counts"]
    typer.echo(
        f"study {payload['study']}: {c['complete']} complete, {c['pruned']} pruned, "
        f"{c['failed']} failed, {c['running']} running; {payload['elapsed_seconds']}s elapsed"
    )
    if payload["best"]:
        top = payload["best"]
        typer.echo(f"best so far: trial #{top['trial']} {top.get('value', top.get('values'))}")


@app.command()
def report(
    study: StudyOpt,
    out: Annotated[str, typer.Option("--out", help="Folder for report.html and the PNG plots.")],
    workspace: WorkspaceOpt = ".",
) -> None:
    """Write a study's report: one self-contained HTML page plus PNG plots, usable offline."""
    from automl_rnn import api

    written = api.report(study, out, workspace)
    typer.echo(written["files"][0])


@app.command()
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

    with _interruptible("MLflow UI stopped"):
        code = api.ui(workspace, port=port, host=host, allow_remote=allow_remote)
    raise typer.Exit(code if code > 0 else 0)


@app.command()
def spaces(
    name: Annotated[str | None, typer.Argument(help="Show this space in full.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the built-in search spaces, or show one."""
    from automl_rnn import api

    payload = api.spaces(name)
    if as_json or name is not None:
        if as_json:
            _echo_json(payload)
        else:
            import yaml

            typer.echo(yaml.safe_dump(payload, sort_keys=False).rstrip())
        return
    for row in payload:
        typer.echo(f"{row['name']:<16} {row.get('description', '')}")


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def _interruptible(what: str) -> Iterator[None]:
    """Ctrl-C / SIGTERM during a long command: one line, exit 130 / 143 (click alone would
    print "Aborted!" and exit 1). Cleanup (runs ended KILLED, workers stopped) ran already."""
    try:
        yield
    except KeyboardInterrupt as err:
        typer.echo(f"interrupted: {what}", err=True)
        raise typer.Exit(143 if isinstance(err, Terminated) else 130) from None


@app.command()
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
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Export a trial's model (default: the best) for prediction without the training stack."""
    from automl_rnn import api

    with _interruptible(f"nothing was written to {out}"):
        summary = api.export(study, out, trial, workspace, formats, register, refit)
    if as_json:
        _echo_json(summary)
        return
    typer.echo(
        f"exported trial #{summary['trial']} of study {summary['study']} to {summary['out']}"
    )
    for name, check in summary["verification"].items():
        exact = "" if "tokens_identical" not in check else ", classes/tokens identical"
        typer.echo(
            f"  {name}: verified against PyTorch on {check['rows']} rows, "
            f"max abs diff {check['max_abs_diff']:.2g}{exact}"
        )
    refitted = summary.get("refit")
    if refitted:
        scores = ", ".join(
            f"{k}={v:.4g}" for k, v in refitted["metrics"].items() if "naive" not in k
        )
        typer.echo(
            f"  refit: retrained on train+validation for {refitted['epochs']} epochs "
            f"(seed {refitted['seed']}), not the search's weights; test: {scores}"
        )
    logged = summary.get("mlflow")
    if logged:
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
    typer.echo(f"  predict: automl-rnn predict --model {summary['out']} --data FILE.csv")


@app.command()
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


def _click_exceptions() -> Any:
    """Click's exceptions module as typer raises them (typer >= 0.20 vendors click)."""
    import typer.core

    vendored = getattr(typer.core, "_click", None)
    if vendored is not None:
        return vendored.exceptions
    import click

    return click.exceptions


def main() -> None:
    """Console-script entry point: user errors (ours, and click's for flags it cannot parse)
    become one line on stderr and exit code 2."""
    click = _click_exceptions()
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        code = app(standalone_mode=False)
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except getattr(click, "NoArgsIsHelpError", ()) as err:  # click < 8.2 shows help itself
        err.show()  # bare `automl-rnn`: the help, as before
        sys.exit(err.exit_code)
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx is not None else "automl-rnn"
        message = " ".join(err.format_message().split())
        typer.echo(f"error: {message} (see '{where} --help')", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
